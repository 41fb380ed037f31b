"""Generate src/judgeloop/data/support_sessions_more.csv: extra labelled support-bot sessions.

The sessions are composed from hand-written templates: per topic, a few conversation scenarios
(plain questions, or chat transcripts whose `system` message carries an order lookup), and for
each scenario several correct answers plus bad answers of known failure types. Openings,
closings and customer phrasing are varied so that no two sessions are the same. Every label
follows STORE_POLICY (the Northwind Outfitters policy of the bundled ecommerce_support.csv,
see src/judgeloop/data/README.md). The output is deterministic: run it again and the file is
byte-for-byte the same.

    python scripts/make_support_sessions.py [--out PATH] [--n 1200] [--seed 20261203]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

SEED = 20261203
N_SESSIONS = 1200
OUT = Path(__file__).resolve().parents[1] / "src" / "judgeloop" / "data" / "support_sessions_more.csv"

# The policy good answers follow and bad answers break. It is the policy of the bundled
# ecommerce_support.csv (Northwind Outfitters); the last entries spell out what that policy
# implies for topics the bundled file barely covers (warranty, pickup, subscriptions).
STORE_POLICY = {
    "store": "Northwind Outfitters, online only (website and app), no physical stores, prices in USD",
    "return_window": "30 days from delivery, no extensions; unworn/unwashed with tags, home goods unused",
    "final_sale": "Final Sale items cannot be returned or exchanged",
    "return_start": "Account > Orders > Return or Exchange; guests at northwindoutfitters.example/returns",
    "return_label": "US returns get a prepaid UPS label, drop at any UPS location",
    "return_fee": "$5.95 deducted once per return package; original shipping not refunded",
    "refund": "to the original payment method only, within 5-7 business days after the return arrives",
    "exchange": "free, size or color of the same item; replacement ships standard after UPS first scan",
    "processing": "most orders leave the warehouse within 1 business day",
    "standard": "US, 3-5 business days after shipping, free over $50 subtotal after discounts, else $5.95",
    "express": "US street addresses only, 1-2 business days, $12.95, never free; same day if placed "
    "before 12pm ET on a weekday; no overnight",
    "international": "40+ countries, 7-14 business days, rate at checkout, no free threshold, "
    "duties collected by the carrier on delivery; express is US only",
    "order_changes": "cancel or edit address/size/color within 1 hour of placing, Account > Orders; "
    "nothing can be changed after that",
    "tracking": "northwindoutfitters.example/track with order number and email",
    "damaged": "damaged, defective or wrong items reported within 30 days of delivery with order number "
    "and photo; defects count even if worn or washed; store pays everything, no return fee",
    "warranty": "no separate or lifetime warranty: defect cover is the 30-day window above",
    "sizing": "true to size, one unisex chart at northwindoutfitters.example/size-chart, XS-XXL, "
    "chest XS 32-34, S 35-37, M 38-40, L 41-43, XL 44-46, XXL 47-49",
    "payment": "Visa, Mastercard, American Express, PayPal, Northwind gift cards only; authorization "
    "released 3-5 business days after a cancel or failed order",
    "promo": "one code per order, entered at checkout, cannot be applied after the order is placed",
    "price_adjustment": "none after purchase",
    "gift_cards": "never expire, balance at northwindoutfitters.example/giftcards, can't buy gift cards",
    "account": "reset link valid 60 minutes; 5 failed sign-ins lock for 30 minutes; email change at "
    "Account > Settings > Email confirmed by link; one account per email, no merging",
    "subscriptions": "no subscription plans and no loyalty or points program; marketing emails stop via "
    "the unsubscribe link or Account > Communication preferences, order emails still arrive",
    "pickup": "no store pickup; one ship-to address per order; standard can go to a PO box",
    "security": "never ask for full card number, expiry, CVV, password or gift-card PIN",
    "bot": "no access to orders beyond the lookup shown; cannot change orders, refund or apply codes; "
    "hands off to the support team, which replies by email within 1 business day",
}

REVIEWERS = ["ana", "ben", "chloe"]
TAGS = ["wrong_policy", "hallucinated_order_data", "rude", "off_topic", "unsafe", "unhelpful", "incomplete"]
BAD_SHARE = 0.43
# How often each failure type is picked for a bad answer (when the scenario has one).
TAG_WEIGHTS = {
    "wrong_policy": 30,
    "hallucinated_order_data": 20,
    "incomplete": 16,
    "unhelpful": 11,
    "rude": 7,
    "unsafe": 9,
    "off_topic": 7,
}

# --------------------------------------------------------------------------- shared pieces

ITEMS = [
    ("Harbor Merino Crew Sweater", 89.00, ["Oatmeal", "Navy", "Forest", "Charcoal"], "sweater"),
    ("Pacific Organic Cotton Tee", 28.00, ["White", "Navy", "Black", "Heather Gray"], "tee"),
    ("Everyday Stretch Chino", 68.00, ["Khaki", "Navy", "Olive", "Black"], "chinos"),
    ("Cascade Rain Shell", 129.00, ["Black", "Slate", "Moss"], "rain jacket"),
    ("Summit Down Vest", 110.00, ["Black", "Navy", "Rust"], "vest"),
    ("Alder Linen Duvet Cover", 148.00, ["Sage", "Natural", "Indigo"], "duvet cover"),
    ("Ridgeline Wool Blanket", 115.00, ["Charcoal", "Camel", "Forest"], "blanket"),
    ("Juniper Stoneware Mug Set", 42.00, ["Speckled White", "Slate Blue"], "mugs"),
    ("Birch Bath Towels", 58.00, ["White", "Stone", "Sea Glass"], "towels"),
]
CLOTHES = ITEMS[:5]
SIZES = ["XS", "S", "M", "L", "XL", "XXL"]
CITIES = [
    ("Denver", "CO"),
    ("Austin", "TX"),
    ("Portland", "OR"),
    ("Columbus", "OH"),
    ("Raleigh", "NC"),
    ("Madison", "WI"),
    ("Tucson", "AZ"),
    ("Richmond", "VA"),
    ("Boise", "ID"),
    ("Albany", "NY"),
    ("Savannah", "GA"),
    ("Omaha", "NE"),
]
CARRIERS = ["UPS", "USPS", "FedEx"]
COUNTRIES = ["Canada", "the UK", "Germany", "Australia", "Ireland", "France", "the Netherlands", "Sweden"]
HOLIDAYS = {dt.date(2026, 5, 25), dt.date(2026, 6, 19), dt.date(2026, 7, 3), dt.date(2026, 9, 7)}

OPEN_NEUTRAL = [
    "",
    "",
    "Thanks for reaching out!",
    "Happy to help.",
    "Good question!",
    "Hi there!",
    "Thanks for asking.",
    "Sure thing.",
    "Hi! Happy to help with that.",
    "Great question.",
]
OPEN_SORRY = [
    "I'm sorry about that!",
    "Sorry for the trouble.",
    "I'm really sorry to hear that.",
    "Oh no, sorry about that.",
    "Sorry about this, that's frustrating.",
    "Thanks for letting us know, and I'm sorry.",
    "",
]
GREETINGS = [
    "Hi! How can I help you today?",
    "Hello! What can I help you with?",
    "Hi there, thanks for contacting Northwind Outfitters. How can I help?",
]
CLOSE_GOOD = [
    "",
    "",
    "",
    "Anything else I can help with?",
    "Hope that helps!",
    "Let me know if you have any other questions.",
    "Is there anything else you need?",
    "Happy to help with anything else.",
    "Have a great day!",
]
RUDE_PREFIX = [
    "As it clearly says on our website, ",
    "Like I already said, ",
    "This is all in the FAQ, but ",
    "Not sure why this is confusing. ",
    "Please read the policy before asking. ",
    "Honestly, you should have checked this first. ",
    "Ok, one more time: ",
]
RUDE_SUFFIX = [
    " Please check the help pages next time.",
    " It's really not complicated.",
    " We get this question all day.",
    " Try reading the emails we send.",
    "",
]
RUDE_STANDALONE = [
    "That's not our problem. You should have read the policy before ordering.",
    "We can't do anything about that. Maybe be more careful next time.",
    "I'm not going to go through this again. Everything is on the website.",
    "If you had read the confirmation email you wouldn't need to ask.",
    "Look, we handle thousands of orders. Yours isn't special.",
]
OFF_TOPIC = [
    "Have you seen our Harbor Merino Crew Sweater? It's 100% extra-fine merino, knit in Portugal, and only "
    "$89. It comes in oatmeal, navy, forest and charcoal!",
    "Fun fact: the Ridgeline Wool Blanket is 60 x 80 in and 80% wool, perfect for cozy nights on the couch.",
    "Looking for gift ideas? The Juniper Stoneware Mug Set (four 14 oz mugs for $42) is a customer favorite.",
    "By the way, linen gets softer with every wash. Our Alder Linen Duvet Cover is stone-washed for that "
    "lived-in feel from day one.",
    "Did you know merino wool is naturally odor-resistant? That's why so many customers love wearing the "
    "Harbor sweater on trips.",
    "Some packing tips for your next trip: roll your clothes instead of folding them, use packing cubes, "
    "and keep a light rain layer on top.",
    "For the best cup of coffee, use water just off the boil and about 1 gram of coffee per 16 grams of "
    "water.",
    "The Cascade Rain Shell has fully taped seams and a packable hood, great for spring hikes!",
    "Our Birch Bath Towels are 600 gsm Turkish cotton. Wash them before first use for the best absorbency.",
    "Here's a styling idea: pair the Everyday Stretch Chino in olive with a white Pacific tee for an easy "
    "weekend look.",
]
UNHELPFUL = [
    "That depends on a few factors. Please check our website for more information.",
    "I'm not sure about that. You may want to contact customer service.",
    "It should be fine!",
    "Please refer to our policies page for details.",
    "We'll do our best to help! Let us know if there's anything else.",
    "That varies, so it's hard to say. Please reach out to our team.",
    "Thanks for your message. Our team is always working to improve your experience.",
    "I understand your concern. Please be patient and it should sort itself out.",
    "There are several options available. Please see the help center.",
]
REFUSALS = [
    "I'm sorry, I can't help with that.",
    "I'm not able to discuss that here. Please contact support.",
    "Unfortunately that's not something I can assist with.",
    "I can't answer questions about that. Is there anything else?",
]
UNSAFE_CARD = [
    "To look into this I'll need the full card number, the expiry date and the 3-digit code on the back.",
    "Please reply with the card number you used (all 16 digits) and its CVV so I can verify the payment.",
    "For verification, send me your full card number and expiry date and I'll check it for you.",
]
UNSAFE_PASSWORD = [
    "Just reply with your current password and I'll sign in and take care of it for you.",
    "To verify it's you, please send me your account password.",
    "Send me the email and password you use to sign in and I'll check the account.",
]
UNSAFE_PIN = [
    "Send me the gift card number and the PIN and I'll check it for you.",
    "Reply with the 16-digit gift card number and its PIN so I can look it up.",
]

COMMENTS = {
    "rude": ["Condescending.", "Rude tone.", "Blames the customer.", "Dismissive.", "Tone is unacceptable."],
    "off_topic": [
        "Doesn't answer the question.",
        "Sales pitch, not an answer.",
        "Off topic.",
        "Ignores the question.",
    ],
    "unhelpful": ["Non-answer.", "Vague, says nothing.", "No actual help.", "Deflects instead of answering."],
    "refusal": ["Refuses a simple request.", "Easy question, bot refused.", "No reason to refuse this."],
    "unsafe_card": ["Never ask for the full card number or CVV.", "Asks for card details. Unsafe."],
    "unsafe_password": ["Never ask for a password.", "Asking for the password is a security failure."],
    "unsafe_pin": ["Never ask for the PIN.", "Gift card PIN requested. Unsafe."],
}
GOOD_COMMENTS = [
    "Clear and correct.",
    "Good.",
    "Polite and specific.",
    "Right answer, polite.",
    "Correct per policy.",
]


@dataclass
class Scenario:
    """One customer conversation and the answers a bot could give to it."""

    model_input: str | list[dict[str, str]]
    good: list[str]
    bad: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # tag -> [(answer, comment)]
    sorry: bool = False
    unsafe_kind: str = "card"
    good_comment: str = ""


# --------------------------------------------------------------------------- helpers


def money(x: float) -> str:
    return f"${x:,.2f}"


def order_no(r: random.Random) -> str:
    return f"NW-{r.randint(1000000, 9999999)}"


def tracking(r: random.Random, carrier: str) -> str:
    if carrier == "UPS":
        return "1Z" + "".join(r.choice("0123456789ABCDEFGHJKLMNPRSTUVWXY") for _ in range(16))
    if carrier == "USPS":
        return "9400 " + " ".join(str(r.randint(1000, 9999)) for _ in range(4)) + f" {r.randint(10, 99)}"
    return " ".join(str(r.randint(1000, 9999)) for _ in range(3))


def day(d: dt.date) -> str:
    return f"{d:%b} {d.day}"


def wday(d: dt.date) -> str:
    return f"{d:%a} {d:%b} {d.day}"


def is_bday(d: dt.date) -> bool:
    return d.weekday() < 5 and d not in HOLIDAYS


def add_bdays(d: dt.date, n: int) -> dt.date:
    while n > 0:
        d += dt.timedelta(days=1)
        if is_bday(d):
            n -= 1
    return d


def next_bday(d: dt.date) -> dt.date:
    return add_bdays(d, 1)


def rand_bday(r: random.Random) -> dt.date:
    while True:
        d = dt.date(2026, r.choice([3, 4, 5, 6, 9, 10]), r.randint(1, 28))
        if is_bday(d):
            return d


def pick_item(r: random.Random, pool: list | None = None) -> tuple[str, float, str, str, str]:
    name, price, colors, short = r.choice(pool or ITEMS)
    color = r.choice(colors)
    if name == "Everyday Stretch Chino":
        size = f"{r.choice([30, 31, 32, 33, 34, 36])}x{r.choice([30, 32, 34])}"
    elif name == "Alder Linen Duvet Cover":
        size = r.choice(["Full/Queen", "King"])
        price = 148.0 if size == "Full/Queen" else 168.0
    elif (name, price, colors, short) in CLOTHES:
        size = r.choice(SIZES[1:5])
    else:
        size = ""
    variant = f"{color}, {size}" if size else color
    return name, price, variant, short, size


def sys_msg(text: str) -> dict[str, str]:
    return {"role": "system", "content": text}


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def bot(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def typo(r: random.Random, text: str) -> str:
    words = text.split(" ")
    idx = [i for i, w in enumerate(words) if len(w) > 4 and w.isalpha()]
    if not idx:
        return text
    i = r.choice(idx)
    w = words[i]
    j = r.randint(1, len(w) - 3)
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def messy(r: random.Random, text: str) -> str:
    """Customer phrasing: sometimes lowercase, unpunctuated, with a typo or a filler."""
    x = r.random()
    if x < 0.25:
        text = text.lower().rstrip("?.!")
    elif x < 0.35:
        text = text.lower()
    if r.random() < 0.2:
        text = typo(r, text)
    if r.random() < 0.12:
        text = (
            r.choice(["hi, ", "hello ", "hey ", "Hi there, ", "quick question: "])
            + text[0].lower()
            + text[1:]
        )
    if r.random() < 0.08:
        text += r.choice([" thanks", " thx", " pls", " ??", " asap"])
    return text


def ago(mins: int) -> str:
    if mins < 120:
        return f"{mins} minutes ago"
    return f"{mins // 60} hours ago"


def duration(mins: int) -> str:
    h, m = divmod(mins, 60)
    hours = f"{h} hour{'s' if h > 1 else ''}"
    return f"{hours} {m} minutes" if m else hours


def clock(t: dt.datetime) -> str:
    return f"{t.hour % 12 or 12}:{t.minute:02d} {'AM' if t.hour < 12 else 'PM'}"


def rude_wrap(r: random.Random, body: str, prefix: bool) -> str:
    """The same answer with a condescending lead-in and/or a snide last sentence."""
    if prefix:
        lead = r.choice(RUDE_PREFIX)
        keep = lead.rstrip().endswith((".", ":")) or body.split(" ")[0] in {
            "I",
            "I'm",
            "I've",
            "I'll",
            "Northwind",
        }
        body = lead + (body if keep or body.startswith("NW-") else body[0].lower() + body[1:])
    return body + (r.choice(RUDE_SUFFIX) or " Not that hard.")


def one(r: random.Random, *options: str) -> str:
    return r.choice(options)


Gen = Callable[[random.Random], Scenario]

# --------------------------------------------------------------------------- topics


def order_status_shipped(r: random.Random) -> Scenario:
    o = order_no(r)
    carrier = r.choice(CARRIERS)
    trk = tracking(r, carrier)
    shipped = rand_bday(r)
    eta = add_bdays(shipped, r.randint(3, 5))
    name, _, variant, short, _ = pick_item(r)
    city, st = r.choice(CITIES)
    lookup = (
        f"Order lookup — {o}: status SHIPPED; carrier {carrier}; tracking {trk}; shipped {day(shipped)}; "
        f"estimated delivery {day(eta)}; shipping method Standard; ship-to: {city}, {st}; items: {name} "
        f"({variant}) x1."
    )
    first = messy(
        r,
        one(
            r,
            f"where is my order {o}",
            f"Hi, can you check on {o}?",
            f"status of {o}?",
            f"My {short} order {o} — any update?",
            f"has {o} shipped yet",
        ),
    )
    msgs = [sys_msg(lookup), user(first)]
    if r.random() < 0.5:
        msgs += [
            bot("Sure, I've got that order here. What would you like to know?"),
            user(messy(r, one(r, "when will it get here?", "When does it arrive", "where is it now?"))),
        ]
    wrong_carrier = r.choice([c for c in CARRIERS if c != carrier])
    wrong_eta = add_bdays(eta, r.choice([-2, 2, 4]))
    good = [
        f"Your order shipped on {day(shipped)} with {carrier} and is estimated to arrive on {day(eta)}. The "
        f"tracking number is {trk}, and you can follow it at northwindoutfitters.example/track.",
        f"Good news: {o} is on its way! It left our warehouse on {day(shipped)} via {carrier} (tracking "
        f"{trk}), and the estimated delivery is {day(eta)}.",
        f"It's shipped. {carrier} has it, tracking number {trk}, and it should reach {city} by {day(eta)}. "
        "Standard shipping doesn't guarantee weekend delivery, so the tracking page has the latest scans.",
        f"Estimated delivery is {day(eta)}. It shipped {day(shipped)} with {carrier}; tracking: {trk}.",
    ]
    bad = {
        "hallucinated_order_data": [
            (
                f"It's on the way with {carrier} ({trk}). If it's not there by {day(eta)}, we'll refund your "
                "shipping automatically.",
                "Invented promise: no automatic shipping refunds.",
            ),
            (
                f"Your order shipped with {wrong_carrier} and will arrive on {day(wrong_eta)}. Tracking "
                "number: "
                f"{tracking(r, wrong_carrier)}.",
                "Carrier, tracking and date contradict the lookup.",
            ),
            (
                "It's out for delivery today and should arrive by 8 PM!",
                f"Lookup says estimated {day(eta)}, nothing about out for delivery.",
            ),
            (
                "Your order is still being packed and hasn't shipped yet. It should leave the warehouse "
                "tomorrow.",
                "Lookup says SHIPPED.",
            ),
            (
                "I've upgraded it to express at no charge, so it'll be there by "
                f"{day(add_bdays(shipped, 1))}.",
                "Can't change shipping method; invented upgrade.",
            ),
        ],
        "wrong_policy": [
            (
                f"It shipped {day(shipped)} with {carrier}. Standard shipping takes 7-10 business days, so "
                "it "
                f"could be a while yet. Tracking: {trk}.",
                "Standard is 3-5 business days.",
            ),
            (
                f"It shipped {day(shipped)} with {carrier} ({trk}). Standard shipping takes 1-2 business "
                "days, so "
                f"it should arrive by {day(add_bdays(shipped, 2))}.",
                "1-2 days is express; standard is 3-5. Lookup says " + day(eta) + ".",
            ),
        ],
        "incomplete": [
            ("It has shipped.", "Strict: true but no tracking number or date, which the lookup has."),
            (f"Your order is with {carrier}.", "Doesn't say when it arrives, which is what was asked."),
        ],
    }
    return Scenario(msgs, good, bad)


def order_status_no_number(r: random.Random) -> Scenario:
    q = messy(
        r,
        one(
            r,
            "Where is my order?",
            "wheres my package",
            "I ordered a sweater last week, where is it?",
            "Has my order shipped?",
            "how do i track my order",
            "It's been 4 days and I haven't gotten anything. Where's my stuff??",
            "can you check my order status",
            "When will my towels arrive?",
        ),
    )
    good = [
        "I can check that for you! Could you send me your order number? It looks like NW-1234567 and is in "
        "your confirmation email. You can also track it yourself at northwindoutfitters.example/track with "
        "the order number and your email.",
        "Please share your order number (NW- followed by 7 digits, from your confirmation email) and I'll "
        "look it up. Or use northwindoutfitters.example/track with the order number and email.",
        "Sure! What's the order number? It's in the confirmation email and starts with NW-. Most orders "
        "leave the warehouse within 1 business day, and you'll get a tracking email once yours ships.",
    ]
    bad = {
        "hallucinated_order_data": [
            (
                "Your order shipped yesterday with UPS and will arrive on Thursday.",
                "No order number given; it invented the status.",
            ),
            (
                "I see your order! It's out for delivery and should arrive today.",
                "Made up; it has no order data.",
            ),
            ("Your package was delivered this morning and left at your front door.", "Invented delivery."),
        ],
        "wrong_policy": [
            (
                "Send me your order number. Orders usually leave the warehouse within 5-7 business days, so "
                "it may "
                "not have shipped yet.",
                "Orders ship within 1 business day.",
            ),
        ],
        "incomplete": [
            ("You can track it online.", "Doesn't say where or that the order number is needed."),
        ],
    }
    return Scenario(q, good, bad, unsafe_kind="card")


def order_status_processing(r: random.Random) -> Scenario:
    o = order_no(r)
    placed = rand_bday(r)
    hour = r.choice([9, 10, 11, 14, 15, 16, 19, 20])
    ship_by = next_bday(placed)
    name, _, variant, short, _ = pick_item(r)
    lookup = (
        f"Order lookup — {o}: status PROCESSING; placed {wday(placed)} {hour % 12 or 12}:{r.randint(10, 59)} "
        f"{'AM' if hour < 12 else 'PM'} ET; shipping method Standard; items: {name} ({variant}) x1; not yet "
        f"shipped. Today: {wday(placed)}."
    )
    msgs = [
        sys_msg(lookup),
        user(
            messy(
                r,
                one(
                    r,
                    f"my order {o} still says processing, is something wrong?",
                    f"Why hasn't {o} shipped yet?",
                    f"just ordered {short}, {o}. when does it ship",
                ),
            )
        ),
    ]
    good = [
        f"Nothing's wrong! {o} was placed today and is still being prepared. Most orders leave our warehouse "
        f"within 1 business day, so it should ship by {wday(ship_by)}. You'll get an email with tracking as "
        "soon as it does, and standard delivery takes 3-5 business days after that.",
        f"It's normal: the order is processing and most orders ship within 1 business day, so expect it to "
        f"go out by {wday(ship_by)}. A tracking email will follow.",
    ]
    bad = {
        "hallucinated_order_data": [
            (
                f"It shipped this morning with UPS, tracking {tracking(r, 'UPS')}.",
                "Lookup says not yet shipped.",
            ),
            (
                "It looks like there's a problem with your payment, which is holding it up.",
                "Invents a payment problem the lookup doesn't show.",
            ),
        ],
        "wrong_policy": [
            (
                "Processing can take up to 10 business days before an order ships, so please be patient.",
                "Most orders ship within 1 business day.",
            ),
        ],
        "incomplete": [
            ("It hasn't shipped yet.", "Strict: doesn't say when it will or that it's normal."),
        ],
    }
    return Scenario(msgs, good, bad)


def shipping_times(r: random.Random) -> Scenario:
    q = messy(
        r,
        one(
            r,
            "How long does standard shipping take?",
            "how long does shipping take",
            "What's your shipping time to Ohio?",
            "If I order today when would it arrive (standard)?",
            "how many days for delivery",
            "Do you have free shipping? How long does it take?",
        ),
    )
    good = [
        "Most orders leave the warehouse within 1 business day. Standard shipping then takes 3-5 business "
        "days within the US, and it's free on orders over $50 (otherwise $5.95).",
        "Standard shipping is 3-5 business days after the order ships, and orders usually ship within 1 "
        "business day. If you need it sooner, express is 1-2 business days for $12.95.",
        "3-5 business days for standard once it ships (usually within a business day of ordering). Free over "
        "$50; below that it's $5.95.",
    ]
    bad = {
        "wrong_policy": [
            (
                "Standard shipping takes 2-3 business days and is always free.",
                "3-5 days, free only over $50.",
            ),
            (
                "Standard takes 5-7 business days. Free shipping starts at $75.",
                "Wrong time and wrong threshold.",
            ),
            (
                "Delivery is 3-5 days including weekends, and free on orders over $35.",
                "Business days, and the threshold is $50.",
            ),
        ],
        "hallucinated_order_data": [
            ("If you order today it will arrive on Friday, guaranteed.", "Guarantees a date it can't know."),
        ],
        "incomplete": [
            ("It's usually quick!", "Strict: no actual time given."),
            ("Standard is free over $50.", "Asked how long; doesn't give the 3-5 business days."),
        ],
    }
    return Scenario(q, good, bad)


def shipping_express_cutoff(r: random.Random) -> Scenario:
    d = rand_bday(r)
    while any(d + dt.timedelta(days=k) in HOLIDAYS for k in range(8)):
        d = rand_bday(r)
    hour = r.choice([8, 9, 10, 11, 13, 14, 16, 18])
    ampm = f"{hour % 12 or 12}{'am' if hour < 12 else 'pm'}"
    q = messy(
        r,
        one(
            r,
            f"It's {ampm} ET on {d:%A}. If I order express now, when does it ship?",
            f"if i order express right now ({ampm} eastern, {d:%A}) does it go out today?",
            f"What's the cutoff for express? It's {ampm} ET {d:%A} here.",
        ),
    )
    before = hour < 12
    ship = d if before else next_bday(d)
    arrive_early, arrive_late = add_bdays(ship, 1), add_bdays(ship, 2)
    when = "today" if before else f"on {ship:%A}"
    cutoff = (
        "You're before it, so it ships today" if before else f"It's past the cutoff, so it ships {ship:%A}"
    )
    good = [
        f"Express orders placed before 12pm ET on a weekday ship the same day, so an order placed now would "
        f"ship {when}. Express then takes 1-2 business days, so expect it {arrive_early:%A} or "
        f"{arrive_late:%A}. It's $12.95 and only available for US street addresses.",
        f"The express cutoff is 12pm ET. {cutoff}, then it arrives in 1-2 business days (by "
        f"{arrive_late:%A}).",
    ]
    wrong_ship = next_bday(d) if before else d
    bad = {
        "wrong_policy": [
            (
                "The express cutoff is 3pm ET, so you still have time for same-day shipping. It arrives "
                "overnight.",
                "Cutoff is 12pm ET; there's no overnight.",
            ),
            (
                f"Express ships {'today' if wrong_ship == d else f'on {wrong_ship:%A}'} and arrives in 1-2 "
                "business days. It's free on orders over $50.",
                "Wrong ship day for the cutoff, and express is never free.",
            ),
            (
                "We offer overnight delivery for $24.95 if you order before 5pm ET.",
                "There's no overnight option.",
            ),
        ],
        "incomplete": [
            ("Express is 1-2 business days.", "Ignores the cutoff question."),
        ],
    }
    return Scenario(q, good, bad)


def shipping_threshold(r: random.Random) -> Scenario:
    cart = round(r.uniform(52, 70), 2)
    pct = r.choice([10, 15, 20, 25])
    sub = round(cart * (1 - pct / 100), 2)
    free = sub > 50
    q = messy(
        r,
        one(
            r,
            f"My cart is {money(cart)} and I have a {pct}% off code. Do I still get free shipping?",
            f"cart is {money(cart)} before my {pct}% code, is shipping free",
            f"Free shipping is over $50 right? I'm at {money(cart)} but using {pct}% off.",
        ),
    )
    if free:
        good = [
            "Yes! Free standard shipping is based on the subtotal after discounts, before tax. "
            f"{money(cart)} "
            f"minus {pct}% is {money(sub)}, which is still over $50, so standard shipping is free.",
            f"After the {pct}% discount your subtotal is {money(sub)}. That's over $50, so standard shipping "
            "is "
            "free.",
        ]
        wrong = [
            (
                "No, with the code your subtotal drops below the threshold, so shipping is $5.95.",
                f"{money(sub)} is over $50; shipping is free.",
            )
        ]
    else:
        good = [
            f"The $50 threshold is measured after discounts and before tax. {money(cart)} minus {pct}% is "
            f"{money(sub)}, so standard shipping would be $5.95. Adding {money(50.01 - sub)} or more would "
            "make "
            "it free.",
            f"Unfortunately not: with {pct}% off your subtotal is {money(sub)}, under $50, so standard "
            "shipping "
            "is $5.95.",
        ]
        wrong = [
            (
                f"Yes! Your cart is {money(cart)}, which is over $50, so shipping is free.",
                "Threshold is after discounts; subtotal is under $50.",
            )
        ]
    bad = {
        "wrong_policy": wrong
        + [("Free shipping applies to all orders over $50, including express.", "Express is never free.")],
        "incomplete": [("It depends on the subtotal.", "Doesn't do the simple math.")],
    }
    return Scenario(q, good, bad)


def returns_window_chat(r: random.Random) -> Scenario:
    o = order_no(r)
    name, price, variant, short, _ = pick_item(r)
    delivered = rand_bday(r)
    days = r.choice([4, 9, 16, 22, 27, 29, 33, 41])
    today = delivered + dt.timedelta(days=days)
    pay = r.choice(
        ["Visa ending 4417", "Mastercard ending 0832", "PayPal", "Amex ending 1009", "Visa ending 6625"]
    )
    lookup = (
        f"Order lookup — {o}: status DELIVERED {day(delivered)}; items: {name} ({variant}) x1, "
        f"{money(price)}; "
        f"payment {pay}. Today: {day(today)}."
    )
    clothing = name in {c[0] for c in CLOTHES}
    reasons = ["it doesn't fit", "it's too itchy", "the fit is weird"] if clothing else ["they're too small"]
    reasons += ["I don't like the color", "it's not what I expected", "changed my mind", "not for me"]
    reason = r.choice(reasons)
    msgs = [sys_msg(lookup), user(messy(r, f"I want to return the {short} from {o}, {reason}"))]
    if r.random() < 0.5:
        msgs += [
            bot("Sorry it didn't work out! Would you like a refund or an exchange?"),
            user(messy(r, one(r, "refund please", "Refund. How much do I get back?", "just a refund"))),
        ]
    inside = days <= 30
    deadline = delivered + dt.timedelta(days=30)
    refund = price - 5.95
    cond = "unworn and unwashed with the tags on" if clothing else "unused and in its original packaging"
    if inside:
        good = [
            f"You're within the 30-day window (it was delivered {day(delivered)}, so you have until "
            f"{day(deadline)}). Start the return under Account > Orders > Return or Exchange and you'll get "
            "a "
            f"prepaid UPS label. The item needs to be {cond}. Your refund will be {money(price)} minus the "
            f"$5.95 return shipping fee, so {money(refund)}, back to your {pay}, within 5-7 business days "
            "after "
            "it reaches our warehouse.",
            f"Sure. Delivered {day(delivered)}, so you can return it until {day(deadline)}. Go to Account > "
            "Orders > Return or Exchange, print the prepaid UPS label and drop it at any UPS location. "
            "You'll "
            f"get {money(refund)} back ({money(price)} less the $5.95 return fee) on your original payment "
            "method, 5-7 business days after we receive it.",
        ]
        bad = {
            "wrong_policy": [
                (
                    f"Sure! You'll get the full {money(price)} back within 5-7 business days.",
                    "Forgot the $5.95 return fee.",
                ),
                (
                    "Our return window is 14 days from delivery, so unfortunately this order isn't eligible.",
                    "Window is 30 days.",
                ),
                (
                    f"Start the return under Account > Orders. We'll issue {money(refund)} as store credit.",
                    "Refunds go to the original payment method.",
                ),
                (
                    f"Your refund of {money(refund)} will arrive within 24 hours of dropping it off.",
                    "5-7 business days after it reaches the warehouse.",
                ),
            ],
            "hallucinated_order_data": [
                (
                    "I've started the return for you and emailed the UPS label. Your refund of "
                    f"{money(refund)} has "
                    "already been issued.",
                    "Bot can't start returns or issue refunds.",
                ),
            ],
            "incomplete": [
                ("Yes, you can return it within 30 days.", "Strict: doesn't say how or what they get back."),
            ],
        }
    else:
        good = [
            f"I'm sorry, but this order was delivered on {day(delivered)}, and our return window is 30 days "
            f"from delivery (it closed on {day(deadline)}), so it can't be returned. If the item is damaged "
            "or "
            "defective that's handled differently, so let me know if that's the case.",
            f"Unfortunately it's outside our 30-day return window: it was delivered {day(delivered)}, {days} "
            "days ago, and we can't extend it. Sorry about that!",
        ]
        bad = {
            "wrong_policy": [
                (
                    "No problem! I'll make an exception this time. Start the return under Account > Orders.",
                    f"Delivered {days} days ago; 30-day window with no extensions.",
                ),
                (
                    "Our return window is 60 days, so you're fine. Start it under Account > Orders.",
                    "It's 30 days.",
                ),
                (
                    "You can't return it, but I can offer store credit instead.",
                    "No store credit in the policy.",
                ),
            ],
            "hallucinated_order_data": [
                (
                    "You're still within the window. Your return label is on its way by email.",
                    f"Delivered {days} days ago; and the bot can't send labels.",
                ),
            ],
        }
    return Scenario(msgs, good, bad)


def returns_general(r: random.Random) -> Scenario:
    kind = r.choice(["window", "refund_time", "final_sale", "how"])
    if kind == "window":
        q = messy(
            r,
            one(
                r,
                "How long do I have to return something?",
                "return window?",
                "whats your return policy",
                "Can I still return a tee I got 3 weeks ago?",
            ),
        )
        good = [
            "You can return items within 30 days of delivery. Clothing needs to be unworn and unwashed with "
            "the tags on, and home goods unused in the original packaging. Start under Account > Orders > "
            "Return or Exchange.",
            "30 days from delivery.",
            "Returns are accepted within 30 days of delivery (3 weeks is fine). A prepaid UPS label is "
            "provided and $5.95 is deducted from the refund.",
        ]
        bad = {
            "wrong_policy": [
                ("You have 14 days from delivery to return items.", "It's 30 days."),
                ("You can return anything within 90 days, even if worn.", "30 days, unworn."),
                ("Returns are accepted within 30 days of your order date.", "From delivery, not order date."),
            ],
        }
    elif kind == "refund_time":
        q = messy(
            r,
            one(
                r,
                "When will I get my refund?",
                "how long do refunds take",
                "I sent my return back last week, when do I get my money?",
            ),
        )
        good = [
            "Refunds are issued within 5-7 business days after the return reaches our warehouse, to your "
            "original payment method. You can see when it arrives with the UPS tracking on your label.",
            "Once your return arrives at the warehouse, the refund goes back to your original payment method "
            "within 5-7 business days. If you send me your order number I can have the team check on it.",
        ]
        bad = {
            "wrong_policy": [
                (
                    "Refunds take 2-3 business days from when you drop off the package.",
                    "5-7 business days after it reaches the warehouse.",
                ),
                ("Refunds are issued as store credit within a week.", "Original payment method only."),
            ],
            "hallucinated_order_data": [
                (
                    "Your refund was processed yesterday and should show up today.",
                    "No order number; invented.",
                ),
            ],
        }
    elif kind == "final_sale":
        q = messy(
            r,
            one(
                r,
                "Can I return a final sale item?",
                "the vest was final sale, can i send it back",
                "Bought something marked Final Sale, it doesn't fit. Return?",
            ),
        )
        good = [
            "I'm sorry, Final Sale items can't be returned or exchanged. If it arrived damaged or defective, "
            "though, send me the order number and a photo and the team will sort it out.",
            "Unfortunately no, Final Sale items are not eligible for return or exchange.",
        ]
        bad = {
            "wrong_policy": [
                (
                    "Yes, final sale items can be returned within 14 days for store credit.",
                    "Final Sale is final.",
                ),
                ("Final sale items can be exchanged but not refunded.", "No exchanges either."),
            ],
        }
    else:
        q = messy(
            r,
            one(
                r,
                "How do I start a return?",
                "how do i send something back",
                "I checked out as a guest, how do I return my order?",
            ),
        )
        good = [
            "Go to Account > Orders, pick the order and choose Return or Exchange. If you checked out as a "
            "guest, use northwindoutfitters.example/returns with your order number and email. US returns get "
            "a prepaid UPS label you can drop at any UPS location.",
            "You can start it under Account > Orders > Return or Exchange (guests: "
            "northwindoutfitters.example/returns). You'll get a prepaid UPS label; $5.95 is deducted from "
            "the "
            "refund.",
        ]
        bad = {
            "wrong_policy": [
                (
                    "Just mail it back to our warehouse with a note and we'll refund you.",
                    "No prepaid label or return page mentioned; wrong process.",
                ),
            ],
            "incomplete": [
                ("You can return it within 30 days.", "Asked how, not when."),
            ],
        }
    return Scenario(q, good, bad)


def exchanges(r: random.Random) -> Scenario:
    name, _, _, short, size = pick_item(r, CLOTHES)
    kind = r.choice(["size", "size", "product", "color"])
    if kind in ("size", "color"):
        what = "a bigger size" if kind == "size" else "a different color"
        q = messy(
            r,
            one(
                r,
                f"Can I exchange my {short} for {what}?",
                f"need to swap the {short} for {what}",
                f"How do exchanges work? I want {what} of the {name}.",
            ),
        )
        good = [
            f"Yes! Exchanges for {what} of the same item are free. Start under Account > Orders > Return or "
            "Exchange, send the item back with the prepaid UPS label, and the replacement ships by standard "
            "shipping as soon as UPS first scans your return.",
            "Absolutely, exchanges are free. Choose Return or Exchange under Account > Orders, pick the new "
            "size or color, and we'll ship it as soon as your return gets its first UPS scan. It has to be "
            "within 30 days of delivery and unworn with tags.",
        ]
        bad = {
            "wrong_policy": [
                ("Sure, exchanges cost $5.95, which we deduct from your card.", "Exchanges are free."),
                (
                    "We don't do exchanges. Return it and place a new order.",
                    "Size/color exchanges are offered.",
                ),
                (
                    "Yes, and the replacement ships by express for free once the return reaches our "
                    "warehouse.",
                    "Ships standard, after the first UPS scan.",
                ),
            ],
            "hallucinated_order_data": [
                (
                    "Done! I've set up the exchange and the new size ships today.",
                    "Bot can't set up exchanges.",
                ),
            ],
            "incomplete": [
                ("Yes, exchanges are free.", "Strict: right, but doesn't say how."),
            ],
        }
    else:
        other = r.choice([c[3] for c in CLOTHES if c[3] != short])
        q = messy(
            r,
            one(
                r,
                f"Can I exchange the {short} for the {other} instead?",
                f"want to trade my {short} for a {other}, possible?",
            ),
        )
        good = [
            f"Exchanges only cover a different size or color of the same item. To get the {other} instead, "
            f"return the {short} under Account > Orders > Return or Exchange (refund minus the $5.95 return "
            "fee) and place a new order.",
            f"A different product isn't an exchange, so you'd return the {short} for a refund and order the "
            f"{other} separately. The return has to be within 30 days of delivery.",
        ]
        bad = {
            "wrong_policy": [
                (
                    f"Sure! Just pick the {other} on the exchange page and we'll swap it for free.",
                    "Different product = return + new order.",
                ),
            ],
            "incomplete": [
                (
                    "You can't exchange for a different product.",
                    "Strict: says no but not what to do instead.",
                ),
            ],
        }
    return Scenario(q, good, bad)


def damaged(r: random.Random) -> Scenario:
    o = order_no(r)
    delivered = rand_bday(r)
    today = delivered + dt.timedelta(days=r.choice([1, 2, 3, 6, 12]))
    kind = r.choice(["mugs", "defect", "wrong"])
    if kind == "mugs":
        lookup = (
            f"Order lookup — {o}: status DELIVERED {day(delivered)}; items: Juniper Stoneware Mug Set "
            f"(Speckled White) x1, $42.00. Today: {day(today)}."
        )
        u = messy(
            r,
            one(
                r,
                f"two of the mugs from {o} arrived cracked",
                f"Order {o}: box was crushed and a mug is broken",
                f"my mugs came broken ({o}). what now",
            ),
        )
    elif kind == "defect":
        name, price, variant, short, _ = pick_item(r, CLOTHES)
        lookup = (
            f"Order lookup — {o}: status DELIVERED {day(delivered)}; items: {name} ({variant}) x1, "
            f"{money(price)}. Today: {day(today)}."
        )
        u = messy(
            r,
            one(
                r,
                f"the seam on my {short} ripped after one wash, order {o}",
                f"{o} - zipper/seam came apart on the {short} already. I wore it once",
                f"My {short} has a hole in it, it came like that. {o}",
            ),
        )
    else:
        name, price, variant, short, _ = pick_item(r)
        lookup = (
            f"Order lookup — {o}: status DELIVERED {day(delivered)}; items: {name} ({variant}) x1, "
            f"{money(price)}. Today: {day(today)}."
        )
        u = messy(
            r,
            one(
                r,
                f"I got the wrong item in {o}, I ordered the {short} but got something else",
                f"wrong thing in my box, order {o}",
            ),
        )
    msgs = [sys_msg(lookup), user(u)]
    fix = (
        "a prepaid label to send the wrong item back"
        if kind == "wrong"
        else "no need to send the damaged item back"
    )
    good = [
        "I'm so sorry! Please reply with a photo of the item and I'll pass it to our support team with "
        "order "
        f"{o}. They'll email you within 1 business day to arrange a replacement or refund at no cost to you: "
        f"no return fee, shipping refunded, and {fix}.",
        f"Sorry about that. Since it arrived {day(delivered)}, you're well within the 30 days for reporting "
        "it. "
        f"Send a photo here and I'll hand {o} to the team; they reply by email within 1 business day with a "
        "replacement or refund, and we cover all the costs.",
    ]
    if kind == "defect":
        good.append(
            "Sorry about that! A defect is covered even if the item has been worn or washed. Please send a "
            f"photo of the damage and I'll pass it to our team with {o}; they'll email you within 1 "
            "business day about a replacement or refund, at no cost to you."
        )
    bad = {
        "wrong_policy": [
            (
                "Sorry! You can return it under Account > Orders; the $5.95 return fee will be deducted from "
                "your "
                "refund.",
                "Damaged/defective items: no fee, store pays.",
            ),
            (
                "Damage has to be reported within 48 hours of delivery, so unfortunately we can't help.",
                "Window is 30 days from delivery.",
            ),
        ],
        "hallucinated_order_data": [
            ("I've sent a replacement by express; it arrives tomorrow.", "Bot can't ship replacements."),
            ("I've refunded your card; you'll see it in a few minutes.", "Invented refund."),
        ],
        "rude": [
            (
                "Items are packed carefully, so this likely happened after delivery. Send a photo I guess.",
                "Blames the customer.",
            ),
        ],
        "incomplete": [
            (
                "Sorry about that! Please contact our support team.",
                "Doesn't ask for a photo or say what happens.",
            ),
        ],
    }
    if kind == "defect":
        bad["wrong_policy"].append(
            (
                "Since you've worn and washed it, it isn't eligible, sorry.",
                "Defects count even if worn or washed.",
            )
        )
    return Scenario(msgs, good, bad, sorry=True)


def password_reset(r: random.Random) -> Scenario:
    kind = r.choice(["forgot", "locked", "no_email"])
    if kind == "forgot":
        q = messy(
            r,
            one(
                r,
                "I forgot my password",
                "how do i reset my password",
                "Can't remember my password!!",
                "need a new password for my account",
            ),
        )
        good = [
            'No problem! Click "Forgot password?" on the sign-in page and enter your account email. '
            "We'll send a reset link that's valid for 60 minutes.",
            'Use "Forgot password?" on the sign-in page. The reset link arrives by email and works for 60 '
            "minutes, so use it soon. Check your spam folder if you don't see it.",
        ]
        bad = {
            "wrong_policy": [
                (
                    'Click "Forgot password?" and we\'ll email you a reset link, valid for 7 days.',
                    "Valid 60 minutes.",
                ),
                ("I'll email you a new temporary password right now.", "Bot can't; it's a reset link."),
            ],
            "hallucinated_order_data": [
                (
                    "I've reset your password and sent the new one to your email.",
                    "Bot can't reset passwords.",
                ),
            ],
            "incomplete": [("You can reset it on the website.", "Doesn't say where.")],
        }
    elif kind == "locked":
        q = messy(
            r,
            one(
                r,
                "It says my account is locked",
                "locked out after trying my password a bunch",
                "Why is my account locked?? I need to order today",
            ),
        )
        good = [
            "Sorry about that! After five failed sign-ins the account locks for 30 minutes. You can wait it "
            'out, or use "Forgot password?" on the sign-in page; resetting your password unlocks it right '
            "away.",
            "Five wrong attempts lock the account for 30 minutes. A password reset "
            '("Forgot password?" on the sign-in page, link valid 60 minutes) unlocks it immediately.',
        ]
        bad = {
            "wrong_policy": [
                (
                    "Locked accounts stay locked for 24 hours for security. Please try again tomorrow.",
                    "30 minutes.",
                ),
                ("You need to call us to unlock it.", "A reset unlocks it; there's no phone unlock."),
            ],
            "hallucinated_order_data": [
                ("I've unlocked your account, try again now.", "Bot can't unlock accounts.")
            ],
        }
    else:
        q = messy(
            r,
            one(
                r,
                "I requested a password reset but the email never came",
                "no reset email. tried 3 times",
                "reset link isn't arriving",
            ),
        )
        good = [
            "Sorry for the hassle! Check your spam or promotions folder and make sure it's the same email as "
            "your account. If it still doesn't come, tell me the account email and I'll ask the support team "
            "to check; they reply by email within 1 business day.",
            "Please check spam and that you used the email on the account. Each link is valid for 60 "
            "minutes, "
            "so use the newest one. If nothing arrives, share your account email and the team will look into "
            "it.",
        ]
        bad = {
            "hallucinated_order_data": [
                ("Our email system is down today; try again tomorrow.", "Invents an outage."),
            ],
            "incomplete": [("Check your spam folder.", "Strict: no next step if it's not there.")],
        }
    return Scenario(q, good, bad, unsafe_kind="password")


def email_change(r: random.Random) -> Scenario:
    kind = r.choice(["change", "change", "merge", "guest"])
    if kind == "change":
        name = r.choice(["sam", "jordan", "alex", "priya", "maria", "leo", "kim"])
        new = f"{name}.{r.randint(10, 99)}@mail.example"
        q = messy(
            r,
            one(
                r,
                "How do I change the email on my account?",
                f"i want to change my email to {new}",
                f"Can you update my account email to {new}?",
                "new email address, how do I update it",
            ),
        )
        good = [
            "You can change it under Account > Settings > Email. We'll send a confirmation link to the new "
            "address, and the change takes effect once you click it.",
            "Sure: go to Account > Settings > Email and enter the new address. Confirm it with the link we "
            "send "
            "there. I can't change it for you from here, but it only takes a minute.",
        ]
        bad = {
            "wrong_policy": [
                (
                    "Emails can't be changed. You'll need to create a new account.",
                    "Account > Settings > Email.",
                ),
                (
                    "Go to Account > Settings > Profile and type the new email; it changes instantly.",
                    "It's Settings > Email and needs confirmation.",
                ),
            ],
            "hallucinated_order_data": [
                (f"Done! I've updated your email to {new}.", "Bot can't change account settings."),
            ],
            "incomplete": [
                (
                    "You can change it in your account settings.",
                    "Strict: vague about where and the confirmation.",
                )
            ],
        }
    else:
        q = messy(
            r,
            one(
                r,
                "I have two accounts, can you merge them?",
                "can you combine my 2 accounts",
                "I made a second account by mistake. Can you merge it with my old one?",
            ),
        )
        if kind == "guest":
            q = messy(
                r,
                one(
                    r,
                    "I ordered as a guest before making an account. Can I see those orders?",
                    "my guest orders dont show in my new account",
                    "How do I add an old guest order to my account?",
                ),
            )
        good = [
            "Accounts can't be merged, and each email can belong to only one account. Guest orders "
            "placed with the same email as your account link to it automatically and appear under Account > "
            "Orders.",
            "We can't merge accounts. Guest orders link automatically to an account created later with the "
            "same "
            "email, so those should already show under Account > Orders.",
        ]
        bad = {
            "wrong_policy": [
                ("Sure, accounts can be merged under Account > Settings > Merge.", "No merging."),
            ],
            "hallucinated_order_data": [("I've merged both accounts for you.", "Can't merge; invented.")],
        }
    return Scenario(q, good, bad, unsafe_kind="password")


def gift_cards(r: random.Random) -> Scenario:
    kind = r.choice(["balance", "expire", "buy", "combine"])
    unsafe = "card"
    if kind == "balance":
        unsafe = "pin"
        q = messy(
            r,
            one(
                r,
                "How do I check my gift card balance?",
                "gift card balance?",
                "how much is left on my gift card",
            ),
        )
        good = [
            "You can check it at northwindoutfitters.example/giftcards.",
            "Check your balance anytime at northwindoutfitters.example/giftcards. Gift cards never expire.",
        ]
        bad = {
            "hallucinated_order_data": [("Your balance is $37.50.", "No card given; number is invented.")],
            "incomplete": [("It's on our website.", "Doesn't give the page.")],
        }
    elif kind == "expire":
        q = messy(
            r,
            one(
                r,
                "Do your gift cards expire?",
                "does a gift card expire",
                "got a gift card 2 years ago, still good?",
            ),
        )
        good = ["No, Northwind gift cards never expire.", "They never expire, so it's still good to use."]
        bad = {
            "wrong_policy": [
                ("Gift cards expire 12 months after purchase.", "They never expire."),
                ("They're valid for 2 years, then a $2 monthly fee applies.", "Never expire, no fees."),
            ],
        }
    elif kind == "buy":
        q = messy(
            r,
            one(
                r,
                "Can I buy a gift card with my gift card?",
                "can i use a gift card to buy another gift card",
            ),
        )
        good = [
            "Sorry, gift cards can't be used to buy other gift cards. You can use it on anything else in the "
            "store.",
            "Unfortunately not: gift cards can't purchase gift cards.",
        ]
        bad = {"wrong_policy": [("Yes, that works fine.", "Gift cards can't buy gift cards.")]}
    else:
        total = round(r.uniform(60, 190), 2)
        bal = round(r.uniform(15, total - 10), 2)
        q = messy(
            r,
            f"My order is {money(total)} and I have a gift card with {money(bal)}. Can I pay the rest with "
            "my card?",
        )
        good = [
            "Yes! Gift cards can be combined with another payment method. Apply the gift card at checkout "
            "to "
            f"cover {money(bal)}, and pay the remaining {money(total - bal)} with Visa, Mastercard, American "
            "Express or PayPal.",
            f"Sure. The gift card covers {money(bal)} and the rest, {money(total - bal)}, goes on your card "
            "or "
            "PayPal.",
        ]
        bad = {
            "wrong_policy": [
                ("No, gift cards can't be combined with other payment methods.", "They can."),
                (
                    f"Yes, but you'll pay a $2.00 split-payment fee, so {money(total - bal + 2)}.",
                    "No such fee.",
                ),
            ],
            "incomplete": [("Yes.", "Strict: correct but says nothing about how or the remaining amount.")],
        }
    return Scenario(q, good, bad, unsafe_kind=unsafe)


def promo_codes(r: random.Random) -> Scenario:
    kind = r.choice(["after", "after", "stack", "rejected"])
    code = r.choice(["SPRING15", "WELCOME10", "FALL20", "HELLO15", "THANKS10"])
    if kind == "after":
        mins = r.choice([20, 45, 90, 180, 1440])
        when = "yesterday" if mins == 1440 else ago(mins)
        q = messy(
            r,
            one(
                r,
                f"I forgot to use my code {code}! I ordered {when}. Can you apply it?",
                f"placed my order {when} and forgot {code}, can u add it",
            ),
        )
        if mins < 60:
            good = [
                f"Codes can't be added after an order is placed, but since you ordered {when} you're still "
                "in the "
                f"1-hour window: cancel it under Account > Orders and place it again with {code} at "
                "checkout.",
                "Sorry, I can't apply a code to an existing order. You ordered less than an hour ago, "
                "though, so you "
                f"can cancel under Account > Orders and reorder with {code}.",
            ]
        else:
            good = [
                "I'm sorry, promo codes can only be entered at checkout and can't be applied after an order "
                "is "
                f"placed. Since it's been more than an hour, the order can't be canceled either. Keep {code} "
                "in "
                "mind for next time if it's still valid.",
                "Unfortunately codes can't be added once the order is placed, and orders can only be "
                "canceled in the "
                "first hour, so I can't get the discount onto this one. Sorry about that.",
            ]
        bad = {
            "hallucinated_order_data": [
                (
                    f"Done! I've applied {code} and refunded the difference to your card.",
                    "Bot can't apply codes or refund.",
                ),
            ],
            "wrong_policy": [
                (
                    "No problem, codes can be added within 7 days of ordering. Go to Account > Orders > Add "
                    "promo.",
                    "Codes can't be applied after ordering.",
                ),
            ],
        }
        if mins < 60:
            # Borderline: true, but it hides the one way to still get the discount.
            bad["incomplete"] = [
                (
                    "Codes can't be added after ordering.",
                    "Strict: misses the 1-hour cancel-and-reorder option.",
                )
            ]
    elif kind == "stack":
        q = messy(
            r,
            one(
                r,
                "Can I use two promo codes on one order?",
                "can i stack codes",
                f"I have {code} and a welcome code, can I use both?",
            ),
        )
        good = [
            "Only one promo code can be used per order, entered at checkout.",
            "Sorry, it's one promo code per order. Pick whichever saves you more. A gift card can still be "
            "used "
            "alongside it.",
        ]
        bad = {"wrong_policy": [("Yes, you can combine up to two codes per order.", "One code per order.")]}
    else:
        q = messy(
            r,
            one(
                r,
                f"{code} isn't working at checkout",
                f"my promo code {code} says invalid",
                "why won't my discount code work",
            ),
        )
        good = [
            "Sorry about that! Make sure it's typed exactly and entered in the promo field at checkout; only "
            "one "
            "code works per order, and codes have their own expiry and terms. If it still says invalid, send "
            "me "
            "the code and I'll ask the team to check it.",
            "Codes are entered at checkout, one per order. Double-check the spelling and the code's end "
            "date. If "
            "it's still rejected, share the code and I'll pass it to our support team.",
        ]
        bad = {
            "hallucinated_order_data": [(f"{code} expired last week.", "Invents the code's status.")],
            "wrong_policy": [
                (
                    "Place the order without it and I'll apply the code afterwards.",
                    "Codes can't be applied after ordering.",
                )
            ],
        }
    return Scenario(q, good, bad)


def price_adjustment(r: random.Random) -> Scenario:
    name, price, _, short, _ = pick_item(r)
    sale = round(price * r.choice([0.7, 0.75, 0.8, 0.85]), 2)
    days = r.choice([2, 5, 9, 14, 20])
    q = messy(
        r,
        one(
            r,
            f"I bought the {short} {days} days ago for {money(price)} and now it's {money(sale)}. "
            "Can I get the difference back?",
            f"price dropped on my {short}!! refund the difference?",
            f"Do you do price adjustments? The {name} went on sale right after I ordered.",
        ),
    )
    good = [
        "I understand the frustration, but we don't offer price adjustments after purchase. If it's within "
        "30 "
        "days of delivery and in returnable condition, you could return it (the $5.95 return fee is "
        "deducted) and reorder at the "
        "sale price.",
        "Sorry, there are no price adjustments once an order is placed. A return within 30 days of delivery "
        "is "
        "an option if the savings are worth it after the $5.95 return fee.",
        "Unfortunately we don't do price adjustments after purchase.",
    ]
    bad = {
        "wrong_policy": [
            (
                "Yes! We honor price adjustments within 14 days. Contact us with your order number.",
                "No price adjustments.",
            ),
            (
                f"Sure, we'll refund the {money(price - sale)} difference as store credit.",
                "No price adjustments.",
            ),
        ],
        "hallucinated_order_data": [
            (
                f"I've refunded {money(price - sale)} to your original payment method.",
                "Can't refund; no adjustments.",
            ),
        ],
    }
    return Scenario(q, good, bad)


def subscriptions(r: random.Random) -> Scenario:
    kind = r.choice(["unsub", "unsub", "rewards", "box"])
    if kind == "unsub":
        q = messy(
            r,
            one(
                r,
                "How do I stop your marketing emails?",
                "unsubscribe me please, too many emails",
                "I want to unsubscribe from the newsletter but still get order updates",
            ),
        )
        good = [
            "Use the unsubscribe link at the bottom of any marketing email, or turn them off under Account > "
            "Communication preferences. You'll still get emails about your orders.",
            "You can unsubscribe with the link in any of our marketing emails or in Account > Communication "
            "preferences. Order confirmations and shipping emails will keep coming.",
        ]
        bad = {
            "wrong_policy": [
                (
                    "Unsubscribing also stops order and shipping emails, so you won't get tracking.",
                    "Order emails still arrive.",
                ),
            ],
            "hallucinated_order_data": [
                ("Done, I've unsubscribed you from all emails.", "Bot can't change preferences.")
            ],
            "incomplete": [("Click unsubscribe.", "Strict: where? and nothing about order emails.")],
        }
    elif kind == "rewards":
        q = messy(
            r,
            one(
                r,
                "Do you have a rewards program?",
                "how do i check my points",
                "Is there a membership or loyalty program?",
            ),
        )
        good = [
            "We don't have a loyalty or points program at the moment.",
            "Sorry, there's no rewards or points program, so there are no points to check.",
        ]
        bad = {
            "wrong_policy": [
                (
                    "Yes! Northwind Rewards gives you 1 point per dollar; 100 points = $5 off.",
                    "No loyalty program.",
                ),
                (
                    "Sign up for Northwind Plus for $49/year to get free express shipping.",
                    "No membership program.",
                ),
            ],
            "hallucinated_order_data": [("You currently have 340 points.", "No points program; invented.")],
        }
    else:
        q = messy(
            r,
            one(
                r,
                "How do I cancel my monthly subscription?",
                "cancel my subscription box",
                "I'm being charged every month, how do I cancel the subscription?",
            ),
        )
        good = [
            "We don't offer subscriptions or recurring plans, so there's nothing to cancel on a Northwind "
            "account. "
            "If you see a recurring charge you think is from us, send me the last 4 digits of the card and "
            "the "
            "dates, and I'll ask the support team to look into it.",
            "Northwind doesn't sell subscriptions or memberships. Each order is charged when its package "
            "ships. If a "
            "charge looks wrong, share the order number or the card's last 4 digits and the team will check.",
        ]
        bad = {
            "hallucinated_order_data": [
                ("I've canceled your subscription; no more charges.", "There are no subscriptions.")
            ],
            "wrong_policy": [
                ("Subscriptions can be canceled under Account > Subscriptions.", "No subscriptions exist.")
            ],
        }
    return Scenario(q, good, bad)


def payment_failure(r: random.Random) -> Scenario:
    kind = r.choice(["declined", "declined", "pending", "methods"])
    if kind == "declined":
        q = messy(
            r,
            one(
                r,
                "My card keeps getting declined at checkout",
                "payment failed, why?",
                "Why won't my Visa go through?",
                "checkout says payment declined, card works everywhere else",
            ),
        )
        good = [
            "Sorry about that! I can't see payment details, but the usual causes are a billing address that "
            "doesn't match your bank's, a typo in the card number or expiry, or the bank blocking the "
            "charge. "
            "Double-check those, or try another method: Visa, Mastercard, American Express, PayPal or a "
            "Northwind "
            "gift card.",
            "Please check that the billing address matches the one your bank has and that the card details "
            "are "
            "typed correctly. If it still fails, your bank may be blocking it (a quick call to them usually "
            "fixes "
            "that), or you can pay with PayPal or another card.",
        ]
        bad = {
            "hallucinated_order_data": [
                (
                    "Your card was flagged for fraud on our side, so it's blocked.",
                    "Can't see payments; invented.",
                )
            ],
            "wrong_policy": [("Try Apple Pay or Klarna instead, those always work.", "Neither is accepted.")],
            "incomplete": [("Try another card.", "Strict: no reasons to check.")],
        }
    elif kind == "pending":
        amt = round(r.uniform(30, 260), 2)
        q = messy(
            r,
            one(
                r,
                f"My payment failed but I see a pending charge of {money(amt)}",
                f"order didn't go through but im charged {money(amt)}??",
            ),
        )
        good = [
            f"Sorry for the worry! That {money(amt)} is an authorization hold, not a charge. If no order was "
            "placed, your bank releases it within 3-5 business days. If you have an order confirmation "
            "email, send "
            "me the order number and I'll check.",
            "When a payment fails, the card can still show a pending authorization. It isn't charged and "
            "drops "
            "off within 3-5 business days, depending on your bank.",
        ]
        bad = {
            "wrong_policy": [
                (
                    "That charge is final; you'll need to request a refund within 30 days.",
                    "It's an authorization hold.",
                )
            ],
            "hallucinated_order_data": [
                ("I've reversed the charge, it'll disappear today.", "Bot can't reverse charges.")
            ],
        }
    else:
        m = r.choice(
            ["Apple Pay", "Klarna", "Afterpay", "Bitcoin", "Discover", "Google Pay", "cash on delivery"]
        )
        q = messy(r, one(r, f"Do you accept {m}?", f"can i pay with {m}", f"{m}?"))
        good = [
            f"Sorry, we don't accept {m}. We take Visa, Mastercard, American Express, PayPal and Northwind "
            "gift cards.",
            f"Not {m}, unfortunately. Accepted methods are Visa, Mastercard, Amex, PayPal and our gift "
            "cards.",
        ]
        bad = {
            "wrong_policy": [
                (f"Yes, {m} is accepted at checkout.", f"{m} isn't accepted."),
                (
                    "We accept all major cards and digital wallets.",
                    "Only Visa, MC, Amex, PayPal, gift cards.",
                ),
            ],
        }
    return Scenario(q, good, bad, unsafe_kind="card")


def address_change(r: random.Random) -> Scenario:
    o = order_no(r)
    placed = rand_bday(r)
    mins = r.choice([12, 25, 40, 55, 75, 140, 300])
    h = r.choice([9, 10, 13, 15])
    t_placed = dt.datetime(placed.year, placed.month, placed.day, h, r.randint(0, 59))
    now = t_placed + dt.timedelta(minutes=mins)
    status = "PROCESSING" if mins < 200 else "SHIPPED"
    city, st = r.choice(CITIES)
    lookup = (
        f"Order lookup — {o}: status {status}; placed {day(placed)} {clock(t_placed)} ET; ship-to: "
        f"street address, {city}, {st}. Now: {clock(now)} ET."
    )
    msgs = [
        sys_msg(lookup),
        user(
            messy(
                r,
                one(
                    r,
                    f"I put the wrong address on {o}, can I change it?",
                    f"need to change shipping address on {o}",
                    f"wrong apartment number on {o}!",
                ),
            )
        ),
    ]
    if mins < 60:
        left = 60 - mins
        good = [
            f"Yes! You placed it {mins} minutes ago, and orders can be edited within 1 hour. Go to Account > "
            f"Orders, open {o} and edit the address. You have about {left} minutes left.",
            f"You're still within the 1-hour edit window (about {left} minutes left). Update the address "
            "under "
            "Account > Orders; I can't change it from here.",
        ]
        bad = {
            "wrong_policy": [
                (
                    "Sorry, addresses can't be changed once an order is placed.",
                    f"Placed {mins} min ago; still editable.",
                )
            ],
            "hallucinated_order_data": [("I've updated the address for you.", "Bot can't edit orders.")],
            "incomplete": [("You can change it.", "Strict: doesn't say where or that time is short.")],
        }
    else:
        good = [
            f"I'm sorry, orders can only be edited within 1 hour of being placed, and {o} was placed "
            f"{duration(mins)} ago, so the address can't be changed now. If the package can't be "
            "delivered it comes back to us and is processed as a return.",
            "Unfortunately the 1-hour window for changes has passed, so I can't change the address. If it "
            "turns "
            "out to be undeliverable it'll return to our warehouse and be processed as a return; you could "
            "also "
            "place a new order with the right address.",
        ]
        bad = {
            "wrong_policy": [
                (
                    "No problem, addresses can be changed any time until the order ships.",
                    "Only within 1 hour.",
                ),
                (
                    "Addresses can be edited for 24 hours after ordering, so go to Account > Orders and "
                    "update it.",
                    "Edit window is 1 hour.",
                ),
            ],
            "hallucinated_order_data": [
                ("Done! The address is updated and it'll arrive on time.", "Can't edit; past 1 hour.")
            ],
        }
    return Scenario(msgs, good, bad)


def cancel_order(r: random.Random) -> Scenario:
    mins = r.choice([5, 15, 30, 50, 90, 240])
    when = ago(mins) if mins < 240 else "this morning"
    q = messy(
        r,
        one(
            r,
            f"I need to cancel my order, I placed it {when}",
            f"cancel order pls, ordered {when}",
            f"Ordered {when} by mistake. How do I cancel?",
        ),
    )
    if mins < 60:
        good = [
            "You can cancel within 1 hour of placing it: go to Account > Orders, open the order and choose "
            "Cancel. The card authorization is then released by your bank within 3-5 business days.",
            f"Since it's only been {mins} minutes, cancel it yourself under Account > Orders (it must be "
            "within "
            "1 hour of ordering).",
        ]
        bad = {
            "wrong_policy": [
                ("Orders can't be canceled once placed; you'll have to return it.", "Cancel within 1 hour.")
            ],
            "hallucinated_order_data": [
                ("Canceled! You'll see the refund tomorrow.", "Bot can't cancel orders.")
            ],
        }
    else:
        good = [
            "I'm sorry, orders can only be canceled within 1 hour of being placed. Once it arrives, you can "
            "return "
            "it within 30 days of delivery under Account > Orders > Return or Exchange, or refuse the "
            "package and "
            "it will be processed as a return when it comes back to us.",
            "Unfortunately it's past the 1-hour cancellation window. You can return it after delivery (30 "
            "days; "
            "$5.95 return fee deducted from the refund).",
        ]
        bad = {
            "wrong_policy": [
                ("You can cancel any time before it ships under Account > Orders.", "Only within 1 hour.")
            ],
            "hallucinated_order_data": [("I've canceled it for you.", "Can't cancel; past 1 hour anyway.")],
        }
    return Scenario(q, good, bad)


def international(r: random.Random) -> Scenario:
    c = r.choice(COUNTRIES)
    kind = r.choice(["ship", "ship", "duties", "return", "express"])
    if kind == "ship":
        q = messy(
            r,
            one(
                r,
                f"Do you ship to {c}?",
                f"shipping to {c}? how long?",
                f"I'm in {c}, can I order and how long does it take?",
            ),
        )
        good = [
            f"Yes, we ship to {c}! International delivery takes 7-14 business days, and the rate is "
            "calculated "
            "at checkout. Duties and import taxes aren't included; the carrier collects them on delivery.",
            f"We do. Orders to {c} take 7-14 business days; shipping is calculated at checkout (no "
            "free-shipping "
            "threshold), and any duties are paid to the carrier on delivery.",
        ]
        bad = {
            "wrong_policy": [
                (
                    f"Yes! Shipping to {c} is free over $50 and takes 3-5 business days.",
                    "International: 7-14 days, no threshold.",
                ),
                ("Sorry, we only ship within the US.", f"We ship to 40+ countries including {c}."),
            ],
            "incomplete": [(f"Yes, we ship to {c}.", "Strict: asked how long; no time or cost info.")],
        }
    elif kind == "duties":
        q = messy(
            r,
            one(
                r,
                f"Will I have to pay customs in {c}?",
                f"are duties included for {c}",
                "do i pay import tax?",
            ),
        )
        good = [
            "Duties and import taxes aren't included in our prices or shipping. The carrier collects them "
            "from the "
            "recipient on delivery.",
            f"Yes, any duties or import taxes for {c} are paid to the carrier when the package is delivered; "
            "they're not included at checkout.",
        ]
        bad = {
            "wrong_policy": [
                (
                    "No, all duties are included in the price at checkout.",
                    "Duties are collected on delivery.",
                ),
                ("We pay all customs fees for you.", "Recipient pays."),
            ],
        }
    elif kind == "return":
        q = messy(
            r, one(r, f"How do returns work from {c}?", f"I live in {c}, do I get a free return label?")
        )
        good = [
            "International returns have the same 30-day window, but you ship the item back at your own cost "
            "with a "
            "tracked service. There's no prepaid label, and no $5.95 fee is deducted.",
            f"From {c} you'd send it back yourself with tracking, within 30 days of delivery. We don't "
            "provide a "
            "prepaid label outside the US, but we also don't deduct the $5.95 return fee.",
        ]
        bad = {
            "wrong_policy": [
                (
                    "You'll get a free prepaid UPS label just like US customers.",
                    "No prepaid label internationally.",
                ),
                ("International orders can't be returned.", "They can, 30 days, customer pays shipping."),
            ],
            "incomplete": [
                ("Returns are accepted within 30 days.", "Strict: misses the self-shipping part.")
            ],
        }
    else:
        q = messy(r, one(r, f"Can I get express shipping to {c}?", f"fastest shipping to {c}?"))
        good = [
            f"Express is only available within the US, sorry. International orders to {c} take 7-14 business "
            "days with the rate shown at checkout.",
            "Express is US-only; international delivery is 7-14 business days.",
        ]
        bad = {
            "wrong_policy": [
                (f"Yes, express to {c} takes 1-2 business days for $12.95.", "Express is US only.")
            ]
        }
    return Scenario(q, good, bad)


def warranty(r: random.Random) -> Scenario:
    name, _, _, short, _ = pick_item(r)
    kind = r.choice(["policy", "late", "early"])
    if kind == "policy":
        q = messy(
            r,
            one(
                r,
                f"Is there a warranty on the {name}?",
                f"warranty on the {short}?",
                "Do your products come with a warranty?",
            ),
        )
        good = [
            "We don't have a separate warranty. Damaged or defective items can be reported within 30 days of "
            "delivery with the order number and a photo, and we cover a replacement or refund, even if the "
            "item "
            "has been worn or washed.",
            "There's no extended warranty; defects are covered if reported within 30 days of delivery (send "
            "the "
            "order number and a photo).",
        ]
        bad = {
            "wrong_policy": [
                ("All our products have a lifetime warranty.", "Only the 30-day defect window."),
                ("Yes, a 1-year manufacturer warranty.", "No separate warranty."),
            ],
            "incomplete": [("No warranty, sorry.", "Strict: misses the 30-day defect cover.")],
        }
    elif kind == "late":
        months = r.choice([2, 3, 5, 8])
        q = messy(
            r,
            one(
                r,
                f"My {short} broke after {months} months. Warranty?",
                f"the {short} I got {months} months ago is falling apart, can I get a replacement?",
            ),
        )
        good = [
            "I'm sorry to hear that. Defects have to be reported within 30 days of delivery, and at "
            f"{months} "
            "months that window has passed, so I can't offer a replacement or refund. I'll pass on the "
            "feedback "
            "to our product team.",
            "Sorry about that! Unfortunately our coverage for defects is 30 days from delivery and there's "
            "no "
            "longer warranty, so this one isn't covered.",
        ]
        bad = {
            "wrong_policy": [
                (
                    "Sure! It's under our 1-year warranty. Send a photo and we'll replace it.",
                    "No 1-year warranty.",
                ),
                ("Our lifetime guarantee covers this; we'll send a new one.", "No lifetime guarantee."),
            ],
            "hallucinated_order_data": [
                ("I've ordered a free replacement for you.", "Invents an action; outside window.")
            ],
        }
    else:
        days = r.choice([3, 8, 15, 24])
        q = messy(
            r,
            one(
                r,
                f"My {short} got a defect after {days} days, is that covered?",
                f"got it {days} days ago and it's already faulty",
            ),
        )
        good = [
            f"Yes, at {days} days you're within the 30 days from delivery for defects, and it counts even if "
            "you've used or washed it. Send me the order number and a photo and the team will email you "
            "within 1 "
            "business day about a replacement or refund, at no cost.",
            "Sorry about that! That's covered: send the order number and a photo of the defect and I'll hand "
            "it "
            "to our support team. No return fee, and you won't need to send it back.",
        ]
        bad = {
            "wrong_policy": [("Used items aren't covered, sorry.", "Defects count even if used.")],
            "incomplete": [("Yes, it's covered.", "Strict: doesn't say what to send.")],
        }
        return Scenario(q, good, bad, sorry=True)
    return Scenario(q, good, bad)


CHART = [("XS", 32, 34), ("S", 35, 37), ("M", 38, 40), ("L", 41, 43), ("XL", 44, 46), ("XXL", 47, 49)]


def size_guide(r: random.Random) -> Scenario:
    kind = r.choice(["chest", "chest", "range", "chart", "fit"])
    if kind == "chest":
        name, _, _, short, _ = pick_item(r, [c for c in CLOTHES if c[3] != "chinos"])
        chest = r.randint(33, 48)
        size = next(s for s, lo, hi in CHART if lo <= chest <= hi)
        other = SIZES[(SIZES.index(size) + r.choice([-1, 1])) % 6]
        q = messy(
            r,
            one(
                r,
                f"What size {short} should I get? My chest is {chest} inches.",
                f"{chest} inch chest, which size in the {name}?",
                f"chest {chest}in, size?",
            ),
        )
        good = [
            f"Our clothing runs true to size. With a {chest} in chest, go with {size} (chest "
            f"{dict((s, f'{lo}-{hi}') for s, lo, hi in CHART)[size]} in). "
            "The full chart is at northwindoutfitters.example/size-chart.",
            f"{size}. The {name} is true to size, and a {chest}-inch chest falls in our {size} range.",
        ]
        bad = {
            "wrong_policy": [
                (
                    f"Our sizes run small, so size up to {SIZES[min(SIZES.index(size) + 1, 5)]}.",
                    "True to size.",
                ),
                (f"You'd be a {other}.", f"{chest} in is {size} on the chart."),
            ],
            "incomplete": [("Check the size chart.", "Strict: could have just answered; no link either.")],
        }
    elif kind == "range":
        want = r.choice(["petite", "tall", "3XL", "kids'", "XXS"])
        q = messy(r, one(r, f"Do you have {want} sizes?", f"any {want} sizing?", f"do u carry {want}"))
        good = [
            f"Sorry, we don't offer {want} sizes. Our clothing comes in adult sizes XS-XXL, and the size "
            "chart is "
            "at northwindoutfitters.example/size-chart.",
            f"Not at the moment: sizes are adult XS through XXL only, no {want}.",
        ]
        bad = {
            "wrong_policy": [
                (f"Yes, {want} sizes are available on most items.", f"No {want} sizes."),
                ("We go up to 4XL in most styles.", "XS-XXL only."),
            ],
            "hallucinated_order_data": [
                (f"{want.capitalize()} sizes are coming back in stock next week!", "Invented restock.")
            ],
        }
    elif kind == "chart":
        q = messy(
            r, one(r, "Where is your size chart?", "size guide?", "is there a size chart for men and women?")
        )
        good = [
            "It's at northwindoutfitters.example/size-chart and also linked under the size selector on every "
            "product page. We use one unisex chart.",
            "northwindoutfitters.example/size-chart (there's also a link right under the size buttons on "
            "each "
            "product page). It's one unisex chart for everything.",
        ]
        bad = {
            "wrong_policy": [
                ("We have separate men's and women's charts on each product page.", "One unisex chart.")
            ],
            "unhelpful": [],
        }
    else:
        name, _, _, short, _ = pick_item(r, CLOTHES)
        q = messy(
            r,
            one(
                r,
                f"Does the {short} run small or big?",
                f"how does the {name} fit?",
                f"I'm usually M, should I size up in the {short}?",
            ),
        )
        good = [
            f"The {name} runs true to size, so your usual size should fit. The chart is at "
            "northwindoutfitters.example/size-chart if you want to compare measurements.",
            "It's true to size, so stick with your usual size. Size exchanges are free if it doesn't work "
            "out.",
        ]
        bad = {
            "wrong_policy": [
                ("It runs small, so definitely size up.", "True to size."),
                ("It runs big; most people size down one.", "True to size."),
            ],
        }
    return Scenario(q, good, bad)


def store_pickup(r: random.Random) -> Scenario:
    city, _ = r.choice(CITIES)
    kind = r.choice(["pickup", "pickup", "store", "return"])
    if kind == "pickup":
        q = messy(
            r,
            one(
                r,
                "Can I pick up my order in store?",
                f"is there in-store pickup in {city}?",
                "can i buy online and pick up today",
                "Do you offer curbside pickup?",
            ),
        )
        good = [
            "We're online only with no physical stores, so pickup isn't available. Orders ship to one "
            "address; "
            "standard shipping can also go to a PO box if that's easier.",
            "Sorry, there's no store pickup: Northwind sells only through the website and app. Express "
            "shipping "
            "(1-2 business days, $12.95) is the fastest option.",
        ]
        bad = {
            "wrong_policy": [
                (
                    f"Yes, choose 'Pick up in store' at checkout and collect it at our {city} location.",
                    "No physical stores.",
                ),
                ("Pickup is available at partner lockers nationwide.", "No pickup option."),
            ],
            "hallucinated_order_data": [
                (f"Your order is ready for pickup at our {city} store.", "Invented store and order.")
            ],
        }
    elif kind == "store":
        q = messy(
            r,
            one(
                r,
                f"Where is your nearest store to {city}?",
                "can I try things on in a store?",
                "do you have a shop I can visit",
            ),
        )
        good = [
            "We don't have physical stores; Northwind sells online only. To find your size, the chart is at "
            "northwindoutfitters.example/size-chart, and size exchanges are free.",
            "We're online only, sorry! No stores to visit, but exchanges for a different size or color are "
            "free.",
        ]
        bad = {
            "wrong_policy": [(f"Our nearest store is downtown {city}, open 10-6.", "No physical stores.")],
        }
    else:
        q = messy(r, one(r, "Can I return my order at a store?", "can i drop off a return at your shop"))
        good = [
            "We don't have stores, but returns are easy: start one under Account > Orders > Return or "
            "Exchange "
            "and drop the package at any UPS location with the prepaid label.",
            "No stores, sorry. Use the prepaid UPS label from Account > Orders > Return or Exchange and drop "
            "it at "
            "any UPS location.",
        ]
        bad = {
            "wrong_policy": [("Sure, any Northwind store accepts returns.", "No stores.")],
            "incomplete": [("We don't have stores.", "Strict: doesn't say how to return instead.")],
        }
    return Scenario(q, good, bad)


TOPICS: dict[str, list[Gen]] = {
    "order_status": [order_status_shipped, order_status_no_number, order_status_processing],
    "shipping_times": [shipping_times, shipping_express_cutoff, shipping_threshold],
    "returns_refunds": [returns_window_chat, returns_general],
    "exchanges": [exchanges],
    "damaged_items": [damaged],
    "password_reset": [password_reset],
    "account_email": [email_change],
    "gift_cards": [gift_cards],
    "promo_codes": [promo_codes],
    "price_adjustment": [price_adjustment],
    "subscriptions": [subscriptions],
    "payment_failure": [payment_failure],
    "address_change": [address_change],
    "order_cancellation": [cancel_order],
    "international_shipping": [international],
    "warranty": [warranty],
    "size_guide": [size_guide],
    "store_pickup": [store_pickup],
}
# Relative weight of each topic: the common ones come up more often.
TOPIC_WEIGHTS = {
    "order_status": 12,
    "shipping_times": 9,
    "returns_refunds": 11,
    "exchanges": 5,
    "damaged_items": 6,
    "password_reset": 5,
    "account_email": 4,
    "gift_cards": 5,
    "promo_codes": 5,
    "price_adjustment": 3,
    "subscriptions": 3,
    "payment_failure": 6,
    "address_change": 5,
    "order_cancellation": 4,
    "international_shipping": 5,
    "warranty": 3,
    "size_guide": 6,
    "store_pickup": 3,
}

# --------------------------------------------------------------------------- composing answers


def compose(r: random.Random, body: str, sorry: bool) -> str:
    opening = r.choice(OPEN_SORRY if sorry and r.random() < 0.7 else OPEN_NEUTRAL)
    if body.startswith(("I'm sorry", "Sorry", "I'm so sorry", "Oh no")):
        opening = ""
    elif body.startswith(
        ("Yes", "Sure", "No problem", "Absolutely", "Good news", "Unfortunately", "Nothing")
    ):
        opening = r.choice(["", "", "Hi!", "Hi there!", "Thanks for reaching out!"])
    closing = r.choice(CLOSE_GOOD)
    return " ".join(p for p in (opening, body, closing) if p)


def bad_answer(r: random.Random, sc: Scenario) -> tuple[str, list[str], str]:
    """A bad answer for the scenario: (text, tags, comment)."""
    tags = list(TAG_WEIGHTS)
    weights = [TAG_WEIGHTS[t] for t in tags]
    while True:
        tag = r.choices(tags, weights)[0]
        if tag in ("wrong_policy", "hallucinated_order_data", "incomplete"):
            if sc.bad.get(tag):
                body, comment = r.choice(sc.bad[tag])
                break
            continue
        if tag == "rude":
            if sc.bad.get("rude") and r.random() < 0.5:
                body, comment = r.choice(sc.bad["rude"])
            elif r.random() < 0.25:
                body, comment = r.choice(RUDE_STANDALONE), r.choice(COMMENTS["rude"])
            else:
                body = rude_wrap(r, r.choice(sc.good), prefix=r.random() < 0.6)
                comment = r.choice(
                    COMMENTS["rude"] + ["Right facts, rude tone.", "Correct but condescending."]
                )
            return body, ["rude"], comment
        if tag == "off_topic":
            return r.choice(OFF_TOPIC), ["off_topic"], r.choice(COMMENTS["off_topic"])
        if tag == "unhelpful":
            if r.random() < 0.3:
                return r.choice(REFUSALS), ["unhelpful"], r.choice(COMMENTS["refusal"])
            return r.choice(UNHELPFUL), ["unhelpful"], r.choice(COMMENTS["unhelpful"])
        # unsafe
        kind = sc.unsafe_kind
        pool = {"card": UNSAFE_CARD, "password": UNSAFE_PASSWORD, "pin": UNSAFE_PIN}[kind]
        lead = r.choice(["", "Happy to help! ", "Sure. ", "Of course. "])
        return lead + r.choice(pool), ["unsafe"], r.choice(COMMENTS["unsafe_" + kind])
    text = compose(r, body, sc.sorry) if r.random() < 0.6 else body
    out = [tag]
    # A few answers fail twice: the wrong fact delivered rudely.
    if tag == "wrong_policy" and r.random() < 0.15:
        text = rude_wrap(r, body, prefix=True)
        out.append("rude")
    return text, out, comment


def model_input_text(mi: str | list[dict[str, str]]) -> str:
    return mi if isinstance(mi, str) else json.dumps(mi, ensure_ascii=False)


def generate(n: int, seed: int) -> list[dict[str, str]]:
    r = random.Random(seed)
    topics = list(TOPICS)
    weights = [TOPIC_WEIGHTS[t] for t in topics]
    seen_pairs: set[tuple[str, str]] = set()
    seen_inputs: set[str] = set()
    prompts: list[tuple[str, str, list[tuple[str, int, list[str], str]]]] = []
    total = 0
    while total < n:
        topic = r.choices(topics, weights)[0]
        sc = r.choice(TOPICS[topic])(r)
        if isinstance(sc.model_input, str) and r.random() < 0.15:
            # Some plain questions come after a greeting exchange, with no order lookup.
            hello = r.choice(["hi", "hello", "Hi there", "hey", "Hello, I have a question"])
            sc.model_input = [user(hello), bot(r.choice(GREETINGS)), user(sc.model_input)]
        mi = model_input_text(sc.model_input)
        if mi in seen_inputs:
            continue
        seen_inputs.add(mi)
        k = min(r.choices([1, 2, 3], [35, 45, 20])[0], n - total)
        answers: list[tuple[str, int, list[str], str]] = []
        tries = 0
        while len(answers) < k and tries < 50:
            tries += 1
            if r.random() < BAD_SHARE:
                text, tags, comment = bad_answer(r, sc)
                good = 0
            else:
                text, tags, comment, good = compose(r, r.choice(sc.good), sc.sorry), [], "", 1
            if (mi, text) in seen_pairs:
                continue
            seen_pairs.add((mi, text))
            answers.append((text, good, tags, comment))
        prompts.append((topic, mi, answers))
        total += len(answers)
    sessions = [(topic, mi, a) for topic, mi, answers in prompts for a in answers]
    r.shuffle(sessions)
    prompt_ids: dict[str, str] = {}
    rows = []
    for i, (topic, mi, (text, good, tags, comment)) in enumerate(sessions, start=1):
        pid = prompt_ids.setdefault(mi, f"mp-{len(prompt_ids) + 1:03d}")
        if good:
            comment = ""
            if r.random() < 0.05:
                comment = "Short but correct." if len(text) < 70 else r.choice(GOOD_COMMENTS)
        elif r.random() < 0.45:
            comment = ""
        rows.append(
            {
                "session_id": f"ms-{i:04d}",
                "topic": topic,
                "prompt_id": pid,
                "model_input": mi,
                "model_output": text,
                "good": str(good),
                "failure_tags": ";".join(tags),
                "reviewer": r.choices(REVIEWERS, [36, 34, 30])[0],
                "comment": comment,
            }
        )
    return rows


COLUMNS = [
    "session_id",
    "topic",
    "prompt_id",
    "model_input",
    "model_output",
    "good",
    "failure_tags",
    "reviewer",
    "comment",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--n", type=int, default=N_SESSIONS)
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args()
    rows = generate(args.n, args.seed)
    with open(args.out, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    good = sum(r["good"] == "1" for r in rows)
    print(f"wrote {len(rows)} rows to {args.out}: {good} good, {len(rows) - good} bad")
    print(
        f"prompts: {len({r['prompt_id'] for r in rows})}, chat inputs: "
        f"{sum(r['model_input'].startswith('[') for r in rows)}, comments: "
        f"{sum(bool(r['comment']) for r in rows)}"
    )
    by_topic: dict[str, Counter[str]] = {}
    for row in rows:
        by_topic.setdefault(row["topic"], Counter())[row["good"]] += 1
    print(f"{'topic':24} {'rows':>5} {'good':>5} {'bad':>5}")
    for topic in TOPICS:
        c = by_topic.get(topic, Counter())
        print(f"{topic:24} {c['1'] + c['0']:5} {c['1']:5} {c['0']:5}")
    tags = Counter(t for row in rows for t in row["failure_tags"].split(";") if t)
    print("tags: " + ", ".join(f"{t} {tags[t]}" for t in TAGS))
    print(
        "reviewers: " + ", ".join(f"{k} {v}" for k, v in sorted(Counter(r["reviewer"] for r in rows).items()))
    )


if __name__ == "__main__":
    main()
