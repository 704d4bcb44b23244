"""Demo customers for `flask crm seed-demo`: a few dozen per store, owned by its salespeople (a few in the
high seas), with contacts, tags and follow-ups whose next contacts are overdue, due today or upcoming."""

from __future__ import annotations

import random
from datetime import timedelta

from crm.core.clock import utcnow
from crm.customers.models import Contact
from crm.customers.models import Customer
from crm.customers.models import CustomerLevel
from crm.customers.models import FollowUp
from crm.customers.models import FollowUpKind
from crm.customers.models import Intention
from crm.extensions import db
from crm.org.models import User

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "勇", "军", "杰", "涛", "明", "超", "霞"]
COMPANIES = ["物流", "仓储", "食品", "医药", "化工", "电商", "冷链", "机械", "家电", "饮料"]
PLACES = [("浙江", "杭州"), ("江苏", "苏州"), ("上海", "上海"), ("广东", "广州"), ("广东", "深圳"), ("山东", "青岛"),
          ("福建", "厦门"), ("湖北", "武汉"), ("四川", "成都"), ("河南", "郑州")]
TAGS = ["回头客", "大客户", "价格敏感", "冷链", "出口", "定制", "样品已寄"]
PRODUCTS = ["1200×1000 九脚托盘", "川字托盘", "网格平板托盘", "双面托盘", "重型货架托盘", "吹塑托盘"]
NOTES = ["询问 1200×1000 九脚托盘报价，需求约 500 片", "已寄样品，等待客户测试承重", "客户对比了木托盘价格，需要方案",
         "约了下周到仓库现场看", "发了产品目录和检测报告", "客户要求开专票，月结 30 天"]


def seed(users: dict[str, User], per_store: int = 30, seed_value: int = 2026) -> int:
    rnd = random.Random(seed_value)
    now = utcnow()
    stores: dict[int, list[User]] = {}
    for user in users.values():
        if user.store_id and any(r.key == "salesperson" for r in user.roles):
            stores.setdefault(user.store_id, []).append(user)
    made = 0
    serial = 0
    for store_id, reps in sorted(stores.items()):
        for i in range(per_store):
            serial += 1
            owner = None if i % 8 == 7 else reps[i % len(reps)]
            province, city = rnd.choice(PLACES)
            person = rnd.choice(SURNAMES) + rnd.choice(GIVEN) + (rnd.choice(GIVEN) if rnd.random() < 0.5 else "")
            company = f"{city}{rnd.choice(['华', '恒', '盛', '达', '鑫', '通'])}{rnd.choice(['源', '泰', '远', '丰'])}" \
                      f"{rnd.choice(COMPANIES)}有限公司"
            created = now - timedelta(days=rnd.randint(1, 200), hours=rnd.randint(0, 23))
            mobile = f"15{serial % 10}{rnd.randint(10_000_000, 99_999_999)}"
            customer = Customer(
                store_id=store_id, owner_id=owner.id if owner else None, name=person, company=company,
                mobile=mobile, mobile_norm=mobile, chat_id=f"wx_{serial:04d}" if i % 3 else None,
                chat_id_norm=f"wx_{serial:04d}" if i % 3 else None, province=province, city=city,
                address=f"{city}市经济开发区{rnd.randint(1, 200)}号", source_platform=rnd.choice(
                    ["tmall", "jd", "1688", "douyin", "alibaba_com"]),
                level=rnd.choice(list(CustomerLevel)), industry=rnd.choice(COMPANIES),
                tags=rnd.sample(TAGS, rnd.randint(0, 2)), product_preferences=rnd.choice(PRODUCTS),
                intention=rnd.choice(list(Intention)), locked=i % 11 == 0 and owner is not None, won=i % 5 == 0,
                created_at=created, owned_since=created if owner else None, last_activity_at=created,
                created_by_id=owner.id if owner else None,
            )
            db.session.add(customer)
            db.session.flush()
            db.session.add(Contact(store_id=store_id, customer_id=customer.id, owner_id=customer.owner_id,
                                   name=person, position=rnd.choice(["采购经理", "仓库主管", "老板"]), mobile=mobile,
                                   is_primary=True))
            if owner is not None and i % 4 != 3:
                when = created + timedelta(days=rnd.randint(0, 30))
                when = min(when, now - timedelta(hours=1))
                next_at = now + timedelta(hours=rnd.choice([-30, -5, 3, 8, 50, 120]))
                db.session.add(FollowUp(store_id=store_id, customer_id=customer.id, author_id=owner.id,
                                        kind=rnd.choice(list(FollowUpKind)), content=rnd.choice(NOTES),
                                        occurred_at=when, next_contact_at=next_at,
                                        reminder_sent_at=now if next_at < now else None))
                customer.last_follow_up_at = when
                customer.next_follow_up_at = next_at
                customer.last_activity_at = max(created, when)
            made += 1
    db.session.flush()
    _seed_leads(stores, rnd)
    return made


def _seed_leads(stores: dict[int, list[User]], rnd: random.Random) -> None:
    """Per store: a web form, a round-robin rule over its salespeople, and a few leads (some in the pool)."""
    import secrets

    from crm.customers.models import Lead
    from crm.customers.models import LeadAssignmentRule
    from crm.customers.models import LeadWebForm

    now = utcnow()
    for store_id, reps in sorted(stores.items()):
        db.session.add(LeadWebForm(store_id=store_id, name="官网询价表", token=secrets.token_urlsafe(24)))
        db.session.add(LeadAssignmentRule(store_id=store_id, name="销售轮流分配", priority=10, daily_capacity=20,
                                          member_ids=[r.id for r in reps]))
        for i in range(8):
            owner = reps[i % len(reps)] if i % 3 else None
            person = rnd.choice(SURNAMES) + rnd.choice(GIVEN)
            province, city = rnd.choice(PLACES)
            mobile = f"18{store_id % 10}{rnd.randint(10_000_000, 99_999_999)}"
            db.session.add(Lead(store_id=store_id, owner_id=owner.id if owner else None, name=person,
                                company=f"{city}{rnd.choice(COMPANIES)}公司", mobile=mobile, mobile_norm=mobile,
                                province=province, city=city, source=rnd.choice(["web_form", "manual", "import"]),
                                message=rnd.choice(NOTES), assigned_at=now if owner else None,
                                created_at=now - timedelta(hours=rnd.randint(1, 96))))
    db.session.flush()


