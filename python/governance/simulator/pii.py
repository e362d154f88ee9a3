"""Fake but realistic-looking seller PII and identity-signal values (vectorised)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .util import hex_str, int_str, join, permute, splitmix64, take_str

# Per region: (family names, given names, family name first?)
NAMES = {
    "SG": (
        [
            "Tan",
            "Lim",
            "Lee",
            "Ng",
            "Ong",
            "Wong",
            "Goh",
            "Chua",
            "Chan",
            "Koh",
            "Teo",
            "Ang",
            "Yeo",
            "Tay",
            "Ho",
            "Low",
            "Toh",
            "Sim",
            "Chong",
            "Chia",
        ],
        [
            "Wei Ming",
            "Jia Hui",
            "Kai Xiang",
            "Hui Min",
            "Jun Jie",
            "Xin Yi",
            "Zhi Hao",
            "Li Ting",
            "Wen Jie",
            "Shu Fen",
            "Yong Sheng",
            "Pei Shan",
            "Jia Wei",
            "Mei Ling",
            "Rajesh",
            "Priya",
            "Nurul Aisyah",
            "Muhammad Hafiz",
        ],
        True,
    ),
    "MY": (
        [
            "Abdullah",
            "Ismail",
            "Rahman",
            "Tan",
            "Lim",
            "Wong",
            "Othman",
            "Hassan",
            "Yusof",
            "Ibrahim",
            "Lee",
            "Chong",
            "Kumar",
            "Ahmad",
            "Razak",
            "Ng",
        ],
        [
            "Ahmad Faiz",
            "Nur Aisyah",
            "Siti Aminah",
            "Mohd Hafiz",
            "Wei Jie",
            "Mei Yee",
            "Kavitha",
            "Arjun",
            "Farah",
            "Zulkifli",
            "Hui Ling",
            "Azlan",
            "Syafiq",
            "Aina",
        ],
        False,
    ),
    "TH": (
        [
            "Srisuk",
            "Chaiyaporn",
            "Wongsakul",
            "Saetang",
            "Rattanakorn",
            "Boonmee",
            "Thongchai",
            "Kaewkham",
            "Suksawat",
            "Jaidee",
            "Phromphan",
            "Sombat",
        ],
        [
            "Somchai",
            "Suda",
            "Anan",
            "Kanya",
            "Prasert",
            "Malee",
            "Niran",
            "Pimchanok",
            "Wichai",
            "Ratana",
            "Thanakorn",
            "Siriporn",
            "Chaiwat",
            "Nattaya",
        ],
        False,
    ),
    "VN": (
        [
            "Nguyen",
            "Tran",
            "Le",
            "Pham",
            "Hoang",
            "Huynh",
            "Phan",
            "Vu",
            "Vo",
            "Dang",
            "Bui",
            "Do",
            "Ho",
            "Ngo",
            "Duong",
            "Ly",
        ],
        [
            "Van An",
            "Thi Lan",
            "Minh Tuan",
            "Thi Hoa",
            "Duc Anh",
            "Thu Trang",
            "Quoc Bao",
            "Ngoc Anh",
            "Hoang Nam",
            "Thi Mai",
            "Gia Huy",
            "Bao Chau",
            "Thanh Long",
            "Kim Ngan",
        ],
        True,
    ),
    "PH": (
        [
            "Dela Cruz",
            "Santos",
            "Reyes",
            "Garcia",
            "Mendoza",
            "Ramos",
            "Bautista",
            "Aquino",
            "Villanueva",
            "Castillo",
            "Flores",
            "Torres",
            "Navarro",
            "Manalo",
        ],
        [
            "Juan",
            "Maria",
            "Jose",
            "Ana",
            "Mark",
            "Kristine",
            "John Paul",
            "Angelica",
            "Carlo",
            "Jasmine",
            "Miguel",
            "Camille",
            "Rafael",
            "Bea",
        ],
        False,
    ),
    "ID": (
        [
            "Santoso",
            "Wijaya",
            "Saputra",
            "Hidayat",
            "Pratama",
            "Kusuma",
            "Setiawan",
            "Nugroho",
            "Siregar",
            "Halim",
            "Gunawan",
            "Sutanto",
            "Lubis",
            "Wibowo",
        ],
        [
            "Budi",
            "Siti",
            "Agus",
            "Dewi",
            "Rizky",
            "Putri",
            "Andi",
            "Ayu",
            "Fajar",
            "Indah",
            "Hendra",
            "Rina",
            "Yusuf",
            "Maya",
        ],
        False,
    ),
}
BUSINESS_WORDS = [
    "Trading",
    "Enterprise",
    "Global",
    "Supplies",
    "Ventures",
    "Retail",
    "Marketing",
    "Distribution",
    "Commerce",
    "Resources",
]
BUSINESS_SUFFIX = {
    "SG": " Pte Ltd",
    "MY": " Sdn Bhd",
    "TH": " Co., Ltd.",
    "VN": " Co., Ltd",
    "PH": " Inc.",
    "ID": " (PT)",
}
EMAIL_DOMAINS = ["mailbox.example", "inbox.example", "post.example", "webmail.example"]
PHONE_PREFIX = {
    "SG": ("+65 ", "89"),
    "MY": ("+60 1", "12679"),
    "TH": ("+66 ", "689"),
    "VN": ("+84 ", "3789"),
    "PH": ("+63 9", "1234567"),
    "ID": ("+62 8", "123578"),
}
STREETS = {
    "SG": [
        "Orchard Road",
        "Tampines Street 81",
        "Jurong West Avenue 1",
        "Ang Mo Kio Avenue 3",
        "Bedok North Road",
    ],
    "MY": [
        "Jalan Ampang",
        "Jalan Bukit Bintang",
        "Jalan Tun Razak",
        "Persiaran Gurney",
        "Jalan Sultan Ismail",
    ],
    "TH": [
        "Sukhumvit Road",
        "Rama IV Road",
        "Phahonyothin Road",
        "Silom Road",
        "Ratchadaphisek Road",
    ],
    "VN": [
        "Nguyen Hue Street",
        "Le Loi Street",
        "Tran Hung Dao Street",
        "Hai Ba Trung Street",
        "Vo Van Tan Street",
    ],
    "PH": ["Ayala Avenue", "Taft Avenue", "Shaw Boulevard", "Katipunan Avenue", "Roxas Boulevard"],
    "ID": [
        "Jalan Sudirman",
        "Jalan Thamrin",
        "Jalan Gatot Subroto",
        "Jalan Kuningan",
        "Jalan Diponegoro",
    ],
}
CITIES = {
    "SG": ["Singapore"] * 4,
    "MY": ["Kuala Lumpur", "Petaling Jaya", "George Town", "Johor Bahru"],
    "TH": ["Bangkok", "Chiang Mai", "Nonthaburi", "Pattaya"],
    "VN": ["Ho Chi Minh City", "Hanoi", "Da Nang", "Hai Phong"],
    "PH": ["Makati", "Quezon City", "Pasig", "Cebu City"],
    "ID": ["Jakarta", "Surabaya", "Bandung", "Medan"],
}
BANKS = {
    "SG": ["DBS", "OCBC", "UOB"],
    "MY": ["MBB", "CIMB", "PBB"],
    "TH": ["KBANK", "SCB", "BBL"],
    "VN": ["VCB", "TCB", "BIDV"],
    "PH": ["BDO", "BPI", "MBTC"],
    "ID": ["BCA", "BRI", "BMRI"],
}
# fmt: off
IP_FIRST_OCTETS = [27, 36, 42, 49, 58, 101, 103, 110, 112, 113, 115, 116, 118, 119, 120, 121,
                   124, 125, 175, 180, 182, 202, 203, 210, 211, 218, 219, 220, 222, 223]
# fmt: on


def _by_region(region: np.ndarray, regions: tuple[str, ...], fn) -> pa.Array:
    """Build a string column region by region and reassemble in the original order."""
    n = len(region)
    pieces, positions = [], []
    for r, code in enumerate(regions):
        pos = np.flatnonzero(region == r)
        if len(pos):
            pieces.append(fn(code, pos))
            positions.append(pos)
    if not pieces:
        return pa.array([], pa.string())
    allpos = np.concatenate(positions)
    combined = pa.concat_arrays([p.cast(pa.string()) for p in pieces])
    order = np.empty(n, dtype=np.int64)
    order[allpos] = np.arange(n)
    return combined.take(pa.array(order))


def seller_pii(idx: np.ndarray, region: np.ndarray, business: np.ndarray, regions, rng):
    """legal_name, email for each seller (idx makes values unique-ish)."""
    n = len(idx)
    u_fam = rng.random(n)
    u_giv = rng.random(n)
    u_word = rng.integers(0, len(BUSINESS_WORDS), n)
    u_dom = rng.integers(0, len(EMAIL_DOMAINS), n)
    num = permute(idx, 9973, 7919, 101) % 900 + 100  # 3-digit, spread
    num2 = permute(idx, 89, 37, 11)

    def names(code, pos):
        fam, giv, fam_first = NAMES[code]
        f = take_str(fam, (u_fam[pos] * len(fam)).astype(np.int64))
        g = take_str(giv, (u_giv[pos] * len(giv)).astype(np.int64))
        person = join(f, g, sep=" ") if fam_first else join(g, f, sep=" ")
        biz = join(f, take_str(BUSINESS_WORDS, u_word[pos]), sep=" ")
        biz = join("PT", biz, sep=" ") if code == "ID" else join(biz, BUSINESS_SUFFIX[code])
        return pc.if_else(pa.array(business[pos]), biz, person)

    def emails(code, pos):
        fam, giv, _ = NAMES[code]
        f = take_str(fam, (u_fam[pos] * len(fam)).astype(np.int64))
        g = take_str(giv, (u_giv[pos] * len(giv)).astype(np.int64))
        f = pc.replace_substring(pc.utf8_lower(f), " ", "")
        g = pc.replace_substring(pc.utf8_lower(g), " ", "")
        local_person = join(g, ".", f, int_str(num[pos]))
        local_biz = join("sales.", f, int_str(num[pos]), int_str(num2[pos]))
        local = pc.if_else(pa.array(business[pos]), local_biz, local_person)
        return join(local, "@", take_str(EMAIL_DOMAINS, u_dom[pos]))

    return _by_region(region, regions, names), _by_region(region, regions, emails)


def signal_values(sig_type: np.ndarray, code: np.ndarray, region: np.ndarray, regions):
    """String value of each (signal_type index, value code, region) triple.

    Codes are unique per signal type, and every mapping below is a bijection on its code space,
    so distinct codes give distinct values.
    """
    n = len(code)
    code = np.asarray(code, dtype=np.int64)
    pieces, positions = [], []
    # by signal type index: device_id, ip_address, bank_account, address, phone
    for type_index, values_of in enumerate(
        (_device_ids, _ip_addresses, _bank_accounts, _addresses, phones)
    ):
        pos = np.flatnonzero(sig_type == type_index)
        if len(pos):
            pieces.append(values_of(code[pos], region[pos], regions))
            positions.append(pos)
    if not pieces:
        return pa.array([], pa.string())
    combined = pa.concat_arrays([p.cast(pa.string()) for p in pieces])
    order = np.empty(n, dtype=np.int64)
    order[np.concatenate(positions)] = np.arange(n)
    return combined.take(pa.array(order))


def _device_ids(code: np.ndarray, region: np.ndarray, regions) -> pa.Array:
    hashed = splitmix64(code.astype(np.uint64) ^ np.uint64(0x5DEECE66D))
    return pa.array(np.char.add("dv-", hex_str(hashed, 16)).astype(object), pa.string())


def _ip_addresses(code: np.ndarray, region: np.ndarray, regions) -> pa.Array:
    x = permute(code, 1 << 24, 2_654_435_761 % (1 << 24) | 1, 12_345)
    octet = (splitmix64(code.astype(np.uint64)) % np.uint64(len(IP_FIRST_OCTETS))).astype(np.int64)
    first = np.array(IP_FIRST_OCTETS)[octet]
    return join(
        int_str(first),
        int_str((x >> 16) & 255),
        int_str((x >> 8) & 255),
        int_str(x & 255),
        sep=".",
    )


def _bank_accounts(code: np.ndarray, region: np.ndarray, regions) -> pa.Array:
    account = permute(code, 10**10, 1_234_567_891, 987_654_321)
    bank = (account % 3).astype(np.int64)

    def in_region(c, p):
        return join(take_str(BANKS[c], bank[p]), int_str(account[p], 10), sep="-")

    return _by_region(region, regions, in_region)


def _addresses(code: np.ndarray, region: np.ndarray, regions) -> pa.Array:
    x = permute(code, 10**8, 1_000_003, 7_777)
    street, house = x % 5, (x // 5) % 2000 + 1
    floor_, unit = (x // 10_000) % 40 + 1, (x // 400_000) % 250 + 1
    city = (x // 400_000) % 4

    def in_region(c, p):
        return join(
            int_str(house[p]),
            " ",
            take_str(STREETS[c], street[p]),
            ", #",
            int_str(floor_[p], 2),
            "-",
            int_str(unit[p], 3),
            ", ",
            take_str(CITIES[c], city[p]),
        )

    return _by_region(region, regions, in_region)


def phones(code: np.ndarray, region: np.ndarray, regions) -> pa.Array:
    x = permute(code, 10**7, 3_141_593, 2_718_281)

    def fmt(c, p):
        cc, leads = PHONE_PREFIX[c]
        lead = take_str(list(leads), (x[p] // 7) % len(leads))
        return join(cc, lead, int_str(x[p] // 10_000, 3), " ", int_str(x[p] % 10_000, 4))

    return _by_region(region, regions, fmt)
