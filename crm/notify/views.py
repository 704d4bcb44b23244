from flask import Blueprint

bp = Blueprint("notify", "crm.notify", template_folder="templates", url_prefix="/notifications")
