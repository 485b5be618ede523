"""Word lists for the demo register of Riverbend, a fictional US city (see ``demo.seeding``).

Plain data only: changing a list changes what ``seed_demo`` builds for a given seed.
"""

from __future__ import annotations

from decimal import Decimal

CITY = "Riverbend"
STATE = "IL"

#: (code, name, postal codes, streets) of the city's service areas.
SERVICE_AREAS: list[tuple[str, str, tuple[str, ...], tuple[str, ...]]] = [
    ("DT", "Downtown", ("62701",), ("Main St", "Front St", "Market St", "Court St", "2nd Ave")),
    ("NS", "Northside", ("62702", "62703"), ("Oak St", "Elm St", "Linden Ave", "Ridge Rd")),
    ("RV", "Riverside", ("62704",), ("River Rd", "Water St", "Mill St", "Levee Dr", "Ferry Ln")),
    ("EG", "Eastgate", ("62705", "62706"), ("Eastgate Blvd", "Maple Ave", "Cherry St", "Kent Rd")),
    ("IP", "Industrial Park", ("62707",), ("Foundry Rd", "Commerce Dr", "Rail Spur Rd")),
    ("HC", "Hillcrest", ("62708",), ("Hillcrest Dr", "Summit Ave", "Vista Ct", "Crown Pt")),
    ("SM", "South Meadows", ("62709", "62710"), ("Meadow Ln", "Prairie Rd", "Wheat St")),
    ("AP", "Airport", ("62711",), ("Airport Rd", "Hangar Way", "Jetport Dr", "Cargo Ct")),
]

FIRST_NAMES = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Carlos",
    "Karen",
    "Daniel",
    "Lisa",
    "Matthew",
    "Nancy",
    "Anthony",
    "Betty",
    "Mark",
    "Sandra",
    "Donald",
    "Ashley",
    "Steven",
    "Kimberly",
    "Andrew",
    "Emily",
    "Paul",
    "Donna",
    "Joshua",
    "Michelle",
    "Kenneth",
    "Carol",
    "Kevin",
    "Amanda",
    "Brian",
    "Melissa",
    "Maria",
    "Deborah",
    "Luis",
    "Stephanie",
    "Wei",
    "Rebecca",
    "Aisha",
    "Laura",
    "Tomas",
    "Helen",
    "Priya",
    "Sharon",
    "Omar",
    "Cynthia",
    "Jorge",
    "Kathleen",
]

LAST_NAMES = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Kowalski",
    "Okafor",
    "Lindqvist",
    "Brennan",
    "Castillo",
    "Haddad",
    "Novak",
    "Fischer",
    "Patel",
    "Duval",
    "Moreau",
    "Tanaka",
]

WORDS = [
    "River",
    "Oak",
    "Cedar",
    "Summit",
    "Prairie",
    "Harbor",
    "Liberty",
    "Maple",
    "Heritage",
    "Pioneer",
    "Willow",
    "Granite",
    "Lakeview",
    "Sunrise",
    "Meadow",
    "Bluff",
    "Keystone",
    "Copper",
    "Evergreen",
    "Northstar",
    "Cornerstone",
    "Riverbend",
    "Birch",
    "Falcon",
    "Juniper",
    "Ironwood",
    "Sterling",
    "Beacon",
    "Crescent",
    "Magnolia",
]

BUSINESSES = [
    "Bakery",
    "Dental Clinic",
    "Auto Service",
    "Car Wash",
    "Laundromat",
    "Family Restaurant",
    "Brewing Co.",
    "Medical Office",
    "Fitness Center",
    "Inn & Suites",
    "Market",
    "Dry Cleaners",
    "Veterinary Clinic",
    "Print Shop",
    "Coffee House",
    "Pharmacy",
    "Hair Studio",
    "Animal Hospital",
    "Garden Center",
    "Deli",
]
INDUSTRIES = [
    "Plating",
    "Plastics",
    "Food Processing",
    "Metal Works",
    "Chemical",
    "Packaging",
    "Cold Storage",
    "Concrete",
    "Printing",
    "Dairy",
    "Precision Machining",
    "Bottling",
]
INSTITUTIONS = [
    "Elementary School",
    "Middle School",
    "High School",
    "Community Church",
    "Public Library",
    "Senior Center",
    "Community College",
    "Medical Center",
    "Fire Station",
    "Recreation Center",
]
HOMES = ["Apartments", "Court Condominiums", "Townhomes", "Place", "Commons", "Lofts"]
IRRIGATION_SITES = ["Park", "HOA common area", "Sports Fields", "Greenway", "Cemetery", "Golf Club"]
COMPANY_SUFFIXES = ("LLC", "Inc.", "Holdings LLC", "Properties LLC", "Group", "Partners")
MANAGERS = (
    "Property Management",
    "Realty Management",
    "Asset Services",
    "Facilities Group",
    "Residential Services",
)
EMAIL_DOMAINS = ("example.com", "example.net", "example.org")

# (property type, weight, assemblies per location as a cumulative-weight list)
PROPERTY_MIX: list[tuple[str, int, tuple[int, ...]]] = [
    ("residential", 44, (1, 1, 1, 1, 1, 1, 1, 2)),
    ("commercial", 22, (1, 1, 2, 2, 3, 4)),
    ("multi_family", 10, (1, 2, 2, 3)),
    ("industrial", 8, (2, 3, 4, 5, 6, 8)),
    ("institutional", 6, (2, 2, 3, 4, 6)),
    ("irrigation", 10, (1, 1, 1, 2)),
]

# Which service types each property type's assemblies protect, weighted by repetition.
SERVICES: dict[str, tuple[str, ...]] = {
    "residential": ("domestic", "domestic", "irrigation", "irrigation", "fire"),
    "commercial": ("domestic", "domestic", "fire", "irrigation", "process"),
    "multi_family": ("domestic", "fire", "fire", "irrigation"),
    "industrial": ("process", "process", "domestic", "fire", "process"),
    "institutional": ("domestic", "fire", "irrigation", "process"),
    "irrigation": ("irrigation",),
}

# Assembly types that suit a service (health hazard types first), weighted by repetition.
TYPES: dict[str, tuple[str, ...]] = {
    "domestic": ("RP", "RP", "RP", "DC", "DC", "DC", "DC", "AG"),
    "fire": ("DCDA", "DCDA", "DCDA", "RPDA", "DC"),
    "irrigation": ("PVB", "PVB", "PVB", "SVB", "AVB", "DC", "RP"),
    "process": ("RP", "RP", "RP", "RP", "AG", "DC"),
}

HEALTH_HAZARD_SHARE = {"RP": 0.9, "RPDA": 0.8, "AG": 1.0, "PVB": 0.6, "SVB": 0.6, "AVB": 0.5}

# Sizes (inches) by service; residential domestic and irrigation stay at the small end.
SIZES: dict[str, tuple[Decimal, ...]] = {
    "small": (Decimal("0.75"), Decimal("0.75"), Decimal("1.00"), Decimal("1.00")),
    "domestic": tuple(Decimal(s) for s in ("0.75", "1.00", "1.25", "1.50", "2.00", "3.00")),
    "fire": tuple(Decimal(s) for s in ("2.50", "4.00", "4.00", "6.00", "6.00", "8.00", "10.00")),
    "irrigation": tuple(Decimal(s) for s in ("0.75", "1.00", "1.00", "1.50", "2.00")),
    "process": tuple(Decimal(s) for s in ("0.50", "0.75", "1.00", "2.00", "3.00", "4.00")),
}

#: manufacturer -> (serial prefix, {assembly type: models}). AG is site-built (no maker).
MANUFACTURERS: dict[str, tuple[str, dict[str, tuple[str, ...]]]] = {
    "Watts": (
        "W",
        {
            "RP": ("LF009", "909", "957"),
            "RPDA": ("957RPDA", "LF909RPDA"),
            "DC": ("LF007", "709", "757"),
            "DCDA": ("757DCDA", "774DCDA"),
            "PVB": ("800M4",),
            "SVB": ("LF008PCQT",),
            "AVB": ("288A",),
        },
    ),
    "Febco": (
        "F",
        {
            "RP": ("825Y", "860", "880V"),
            "RPDA": ("826YD", "860U"),
            "DC": ("850", "870V"),
            "DCDA": ("856", "876V"),
            "PVB": ("765",),
            "SVB": ("LF765",),
            "AVB": ("715",),
        },
    ),
    "Zurn Wilkins": (
        "ZW",
        {
            "RP": ("975XL", "375"),
            "RPDA": ("375DA", "375ADA"),
            "DC": ("950XLT", "350"),
            "DCDA": ("350DA", "350ADA"),
            "PVB": ("720A",),
            "SVB": ("460XL",),
            "AVB": ("35",),
        },
    ),
    "Ames": (
        "A",
        {
            "RP": ("4000SS", "C400"),
            "RPDA": ("5000SS", "C500"),
            "DC": ("2000SS", "C200"),
            "DCDA": ("3000SS", "C300"),
            "PVB": ("LF4000B",),
        },
    ),
    "Apollo": (
        "AP",
        {
            "RP": ("RPLF4A", "RP4A"),
            "RPDA": ("RPDA4A",),
            "DC": ("DCLF4", "DC4A"),
            "DCDA": ("DCDA4A",),
            "PVB": ("PVBLF4A",),
            "SVB": ("4V-500",),
        },
    ),
    "Conbraco": (
        "C",
        {"RP": ("40-200", "40-600"), "DC": ("40-100", "4S-100"), "PVB": ("40-500",)},
    ),
}

PLACEMENTS: dict[str, tuple[str, ...]] = {
    "domestic": (
        "Basement mech room",
        "Meter pit",
        "Utility room",
        "Garage, behind water heater",
        "Mechanical room, 1st floor",
        "Boiler room",
        "Crawl space",
        "Meter room",
    ),
    "fire": (
        "Fire riser room",
        "Vault at property line",
        "Hot box at curb",
        "Sprinkler room",
        "Below-grade vault, NE corner",
    ),
    "irrigation": (
        "Front yard",
        "Side yard, north",
        "Above-ground enclosure",
        "Median island",
        "Cage by parking lot",
        "Rear yard, by hose bib",
    ),
    "process": (
        "Boiler feed",
        "Cooling tower makeup",
        "Lab supply line",
        "Chemical mixing room",
        "Car wash bay",
        "Ice machine supply",
        "Dishwasher line, kitchen",
    ),
}
