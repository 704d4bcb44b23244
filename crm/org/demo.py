"""Demo data for `flask crm seed-demo`: an HQ, 2 subsidiaries, 4 stores on different platforms, their
departments, and users for every default role in several stores. Everything is created through the
same services the pages use, so the demo obeys every rule a real admin would."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlalchemy import select

from crm.org.models import OrgUnit
from crm.org.models import User

# (key, kind, parent key, name, code, platform, shop name)
UNITS: list[tuple[str, str, str | None, str, str, str | None, str | None]] = [
    ("hq", "hq", None, "华宇托盘集团总部", "HQ", None, None),
    ("hq_fin", "department", "hq", "总部财务部", "HQ-FIN", None, None),
    ("hq_proc", "department", "hq", "流程管理办公室", "HQ-PMO", None, None),
    ("east", "subsidiary", "hq", "华东分公司", "SUB-E", None, None),
    ("south", "subsidiary", "hq", "华南分公司", "SUB-S", None, None),
    ("tmall", "store", "east", "天猫旗舰店", "ST-TMALL", "tmall", "华宇托盘旗舰店"),
    ("tmall_a", "department", "tmall", "天猫销售一组", "ST-TMALL-A", None, None),
    ("tmall_b", "department", "tmall", "天猫销售二组", "ST-TMALL-B", None, None),
    ("jd", "store", "east", "京东自营店", "ST-JD", "jd", "华宇塑料托盘京东店"),
    ("jd_sales", "department", "jd", "京东销售组", "ST-JD-S", None, None),
    ("b2b", "store", "south", "1688 工厂店", "ST-1688", "1688", "华宇托盘源头工厂"),
    ("b2b_sales", "department", "b2b", "1688 销售组", "ST-1688-S", None, None),
    ("douyin", "store", "south", "抖音小店", "ST-DY", "douyin", "华宇托盘抖音小店"),
]

# (mobile, name, unit key, roles, supervisor mobile, position, e-mail, gender)
USERS: list[tuple[str, str, str, list[str], str | None, str, str, str]] = [
    ("13800000001", "系统管理员", "hq", ["super_admin"], None, "IT", "root@demo.crm", "unspecified"),
    ("13800000002", "陈国强", "hq", ["hq_manager"], None, "总经理", "ceo@demo.crm", "male"),
    ("13800000003", "刘敏", "hq", ["admin"], "13800000002", "系统管理员", "admin@demo.crm", "female"),
    ("13800000004", "赵流程", "hq_proc", ["process_owner"], "13800000002", "流程经理", "process@demo.crm", "male"),
    ("13800000005", "钱会计", "hq_fin", ["finance"], "13800000002", "财务总监", "finance@demo.crm", "female"),
    ("13800000010", "孙华东", "east", ["subsidiary_manager"], "13800000002", "分公司总经理", "east@demo.crm", "male"),
    ("13800000020", "周华南", "south", ["subsidiary_manager"], "13800000002", "分公司总经理", "south@demo.crm", "male"),
    ("13800000101", "吴店长", "tmall", ["store_manager"], "13800000010", "店长", "tmall.manager@demo.crm", "female"),
    ("13800000102", "郑主管", "tmall_a", ["supervisor"], "13800000101", "销售主管", "tmall.sup@demo.crm", "male"),
    ("13800000103", "王芳", "tmall_a", ["salesperson"], "13800000102", "销售", "wang.fang@demo.crm", "female"),
    ("13800000104", "李强", "tmall_a", ["salesperson"], "13800000102", "销售", "li.qiang@demo.crm", "male"),
    ("13800000105", "冯出纳", "tmall", ["finance"], "13800000101", "财务", "tmall.finance@demo.crm", "female"),
    ("13800000106", "陈仓管", "tmall", ["warehouse"], "13800000101", "仓管", "tmall.wh@demo.crm", "male"),
    ("13800000107", "褚主管", "tmall_b", ["supervisor"], "13800000101", "销售主管", "tmall.sup2@demo.crm", "female"),
    ("13800000108", "卫东", "tmall_b", ["salesperson"], "13800000107", "销售", "wei.dong@demo.crm", "male"),
    ("13800000109", "孔物流", "tmall", ["logistics"], "13800000101", "物流专员", "tmall.logistics@demo.crm", "male"),
    ("13800000201", "蒋店长", "jd", ["store_manager"], "13800000010", "店长", "jd.manager@demo.crm", "male"),
    ("13800000202", "沈主管", "jd_sales", ["supervisor"], "13800000201", "销售主管", "jd.sup@demo.crm", "female"),
    ("13800000203", "韩梅", "jd_sales", ["salesperson"], "13800000202", "销售", "han.mei@demo.crm", "female"),
    ("13800000204", "杨财务", "jd", ["finance"], "13800000201", "财务", "jd.finance@demo.crm", "female"),
    ("13800000205", "朱仓管", "jd", ["warehouse"], "13800000201", "仓管", "jd.wh@demo.crm", "male"),
    ("13800000301", "秦店长", "b2b", ["store_manager"], "13800000020", "店长", "b2b.manager@demo.crm", "male"),
    ("13800000302", "尤主管", "b2b_sales", ["supervisor"], "13800000301", "销售主管", "b2b.sup@demo.crm", "male"),
    ("13800000303", "许诺", "b2b_sales", ["salesperson"], "13800000302", "销售", "xu.nuo@demo.crm", "female"),
    ("13800000304", "何财务", "b2b", ["finance", "warehouse"], "13800000301", "财务兼仓管", "b2b.ops@demo.crm", "female"),
    ("13800000401", "吕店长", "douyin", ["store_manager"], "13800000020", "店长", "dy.manager@demo.crm", "female"),
    ("13800000402", "施展", "douyin", ["salesperson"], "13800000401", "主播销售", "shi.zhan@demo.crm", "male"),
]


def has_data() -> bool:
    from crm.extensions import db

    return bool(db.session.scalar(select(func.count()).select_from(User)))


def seed(password_hash: str, roles: dict[str, Any], actor: User | None = None) -> dict[str, Any]:
    """Create the demo org and users. `roles` maps role key -> Role."""
    from crm.extensions import db
    from crm.org import services

    units: dict[str, OrgUnit] = {}
    system = actor or User(id=0, name="system")  # services only read actor.id for logging
    for key, kind, parent, name, code, platform, shop in UNITS:
        units[key] = services.create_unit(
            {"kind": kind, "parent_id": units[parent].id if parent else None, "name": name, "code": code,
             "platform": platform, "shop_name": shop},
            actor=system,
        )
    users: dict[str, User] = {}
    for mobile, name, unit, role_keys, sup, position, email, gender in USERS:
        users[mobile] = services.create_user(
            {"mobile": mobile, "name": name, "org_unit_id": units[unit].id,
             "supervisor_id": users[sup].id if sup else None, "position": position, "email": email, "gender": gender},
            password_hash=password_hash,
            roles=[roles[k] for k in role_keys],
            actor=system,
        )
    # Department heads, for approval rules that ask for them.
    for unit_key, head in (("tmall_a", "13800000102"), ("tmall_b", "13800000107"), ("jd_sales", "13800000202"),
                           ("b2b_sales", "13800000302")):
        units[unit_key].head_id = users[head].id
    db.session.flush()
    return {"units": units, "users": users}


def login_table() -> list[tuple[str, str, str, str]]:
    """(mobile, name, roles, unit) of the demo users that exist, for `make run` to print."""
    from crm.extensions import db

    mobiles = [u[0] for u in USERS]
    rows = db.session.scalars(select(User).where(User.mobile.in_(mobiles)).order_by(User.mobile)).all()
    return [(u.mobile, u.name, ", ".join(r.display_name for r in u.roles), u.org_unit.name) for u in rows]
