//! Word lists for realistic values (our own lists of common names and places).

pub const FIRST_NAMES: &[&str] = &[
    "Aisha", "Alex", "Amara", "Andre", "Anna", "Ben", "Carlos", "Chen", "Chloe", "Daniel", "Diego", "Elena", "Emma",
    "Ethan", "Fatima", "Felix", "Grace", "Hana", "Hugo", "Imani", "Isaac", "Ivy", "Jamal", "Jordan", "Julia", "Kai",
    "Kenji", "Lara", "Leo", "Lina", "Lucas", "Maya", "Mei", "Mia", "Nadia", "Noah", "Olivia", "Omar", "Priya",
    "Rafael", "Rosa", "Ruby", "Sam", "Sara", "Sofia", "Tariq", "Theo", "Tomas", "Uma", "Victor", "Wei", "Yara",
    "Yusuf", "Zoe", "Beatriz", "Connor", "Dina", "Elias", "Farah", "Gabriel", "Helena", "Ines", "Jonas", "Keisha",
    "Liam", "Marta", "Nikhil", "Oscar", "Paula", "Quinn", "Reza", "Selin", "Tessa", "Vera", "Wyatt", "Ximena",
];

pub const LAST_NAMES: &[&str] = &[
    "Abbott", "Adeyemi", "Alvarez", "Bauer", "Becker", "Bello", "Brooks", "Carter", "Castillo", "Chen", "Costa",
    "Dalton", "Diaz", "Dubois", "Ellis", "Evans", "Fischer", "Foster", "Garcia", "Greene", "Gupta", "Haddad",
    "Hansen", "Hughes", "Ibrahim", "Ito", "Jensen", "Kim", "Kowalski", "Larsen", "Lopez", "Mendes", "Meyer",
    "Morales", "Murphy", "Nakamura", "Nguyen", "Novak", "Okafor", "Olsen", "Park", "Patel", "Perez", "Quinn",
    "Raman", "Reyes", "Rossi", "Santos", "Schmidt", "Shah", "Silva", "Singh", "Sullivan", "Tanaka", "Torres",
    "Turner", "Varga", "Wagner", "Walsh", "Weber", "Wong", "Yilmaz", "Young", "Zhang", "Moreau", "Lindqvist",
];

pub const CITIES: &[(&str, &str)] = &[
    ("Austin", "512"), ("Boston", "617"), ("Chicago", "312"), ("Denver", "303"), ("Portland", "503"),
    ("Seattle", "206"), ("Atlanta", "404"), ("Phoenix", "602"), ("San Diego", "619"), ("Minneapolis", "612"),
    ("Nashville", "615"), ("Pittsburgh", "412"), ("Raleigh", "919"), ("Salt Lake City", "801"),
    ("Sacramento", "916"), ("Columbus", "614"), ("Madison", "608"), ("Tucson", "520"), ("Richmond", "804"),
    ("Albuquerque", "505"), ("Baltimore", "410"), ("Cleveland", "216"), ("Kansas City", "816"), ("Omaha", "402"),
];

pub const STREETS: &[&str] = &[
    "Cedar Ave", "Maple St", "Oak Lane", "Birch Rd", "Elm St", "Harbor Blvd", "Lake Shore Dr", "Mill Rd",
    "Pine St", "Ridge Way", "River Rd", "Summit Ave", "Union St", "Walnut St", "Willow Ct", "Park Pl",
    "Chestnut St", "Highland Ave", "Orchard Ln", "Spruce St",
];

pub const COMPANY_FIRST: &[&str] = &[
    "Acme", "Blue Ridge", "Brightwater", "Cascade", "Copper Hill", "Evergreen", "Granite", "Harborview", "Ironwood",
    "Juniper", "Keystone", "Lakeside", "Meridian", "Northstar", "Oakmont", "Pinnacle", "Redwood", "Silverline",
    "Summit", "Trident", "Upland", "Vantage", "Westbrook", "Zenith",
];

pub const COMPANY_SECOND: &[&str] = &[
    "Logistics", "Partners", "Supply", "Holdings", "Group", "Works", "Industries", "Services", "Labs", "Trading",
    "Systems", "Co", "Outfitters", "Foods", "Health", "Media",
];

pub const POLITE: &[&str] = &["", "", "Hi! ", "Hello, ", "Quick one: ", "Hey, "];
