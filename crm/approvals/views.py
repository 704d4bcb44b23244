from flask import Blueprint

bp = Blueprint("approvals", "crm.approvals", template_folder="templates", url_prefix="/approvals")
