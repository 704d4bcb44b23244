"""State changes of customers (a package: profile and dedup, contacts, team and ownership).
Callers use `crm.customers.services.<function>`; every service takes the actor explicitly, flushes, never
commits."""

from crm.core.errors import Conflict as Conflict
from crm.core.errors import PermissionDenied as PermissionDenied
from crm.customers.services.contacts import add_contact as add_contact
from crm.customers.services.contacts import delete_contact as delete_contact
from crm.customers.services.contacts import get_contact as get_contact
from crm.customers.services.contacts import update_contact as update_contact
from crm.customers.services.owners import add_team_member as add_team_member
from crm.customers.services.owners import parse_expiry as parse_expiry
from crm.customers.services.owners import register_transfer_handler as register_transfer_handler
from crm.customers.services.owners import release_to_pool as release_to_pool
from crm.customers.services.owners import remove_team_member as remove_team_member
from crm.customers.services.owners import set_locked as set_locked
from crm.customers.services.owners import team as team
from crm.customers.services.owners import touch_follow_up as touch_follow_up
from crm.customers.services.owners import transfer as transfer
from crm.customers.services.profile import PROFILE_FIELDS as PROFILE_FIELDS
from crm.customers.services.profile import DuplicateCustomer as DuplicateCustomer
from crm.customers.services.profile import can_edit as can_edit
from crm.customers.services.profile import can_manage as can_manage
from crm.customers.services.profile import can_see as can_see
from crm.customers.services.profile import check_duplicates as check_duplicates
from crm.customers.services.profile import check_edit as check_edit
from crm.customers.services.profile import check_manage as check_manage
from crm.customers.services.profile import check_version as check_version
from crm.customers.services.profile import clean_profile as clean_profile
from crm.customers.services.profile import create_customer as create_customer
from crm.customers.services.profile import describe as describe
from crm.customers.services.profile import find_duplicates as find_duplicates
from crm.customers.services.profile import flush as flush
from crm.customers.services.profile import normalise_chat_id as normalise_chat_id
from crm.customers.services.profile import resolve_store as resolve_store
from crm.customers.services.profile import store_user as store_user
from crm.customers.services.profile import update_customer as update_customer
