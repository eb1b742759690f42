"""Hand-written word lists for the offline heuristic judges.

All entries are lower case. These lists are small baselines written for this project, not
validated psychometric lexicons; they cover the frequent cases in news, literary translation and
counselling text and will miss rarer vocabulary.
"""

from __future__ import annotations

# --- Emotion intensity (lexicon judge) ---------------------------------------------------------
# Weight 1 = mild, 2 = clear, 3 = raw/visceral. Inflected forms are listed where they differ.
EMOTION_WEIGHTS: dict[str, float] = {
    # mild, often the sanitised register
    "sad": 1, "upset": 1, "worried": 1, "concerned": 1, "unhappy": 1, "disappointed": 1,
    "frustrated": 1, "annoyed": 1, "nervous": 1, "uneasy": 1, "hurt": 1.5, "lonely": 1.5,
    "stressed": 1, "tired": 1, "afraid": 1.5, "scared": 1.5, "angry": 1.5, "anxious": 1.5,
    "embarrassed": 1.5, "confused": 1, "unfair": 1.5, "pain": 1.5, "painful": 1.5, "cry": 1.5,
    "cried": 1.5, "crying": 1.5, "tears": 1.5, "fear": 1.5, "grief": 2, "sorrow": 2,
    "miserable": 2, "hopeless": 2, "helpless": 2, "ashamed": 2, "betrayed": 2,
    "humiliated": 2.5, "humiliation": 2.5, "humiliating": 2.5, "furious": 2.5, "enraged": 2.5,
    "rage": 2.5, "hate": 2.5, "hated": 2.5, "despair": 2.5, "desperate": 2, "panic": 2,
    "panicked": 2, "terrified": 2.5, "horrified": 2.5, "horror": 2.5, "horrific": 2.5,
    "dread": 2, "heartbroken": 2.5, "devastated": 2.5, "devastating": 2.5, "shattered": 2.5,
    "crushed": 2, "broken": 1.5, "agony": 3, "anguish": 3, "unbearable": 3, "sobbing": 2.5,
    "sobbed": 2.5, "wept": 2, "weeping": 2, "shaking": 2, "trembling": 2, "sick": 1.5,
    "disgusted": 2, "worthless": 2.5, "destroyed": 2.5, "nightmare": 2.5, "terror": 3,
    "torment": 3, "tormented": 3, "suffocating": 3, "wail": 2.5, "wailed": 2.5,
    "howled": 2.5, "begged": 2.5, "pleaded": 2, "love": 1, "joy": 1.5, "ecstatic": 2.5,
    "thrilled": 2, "overjoyed": 2.5, "grateful": 1, "relieved": 1, "gutted": 2, "numb": 1.5,
    "mortified": 2.5, "petrified": 2.5, "distraught": 2.5, "livid": 2.5, "dreading": 2,
    "overwhelmed": 1.5, "exhausted": 1.5, "isolated": 1.5, "invisible": 1.5, "stupid": 1.5,
    "useless": 2, "failure": 1.5, "panicking": 2, "sleepless": 1.5, "bitter": 1.5,
}  # fmt: skip
# Hand-list entries that are pleasant feelings (every other entry is a painful one).
POSITIVE_FEELINGS = frozenset(
    {"love", "joy", "ecstatic", "thrilled", "overjoyed", "grateful", "relieved"}
)  # fmt: skip
# VADER-rated words that are not named feeling in these texts: the helper vocabulary of advice
# (conflict avoidance's), politeness, and judgements of fault (conflict avoidance's and
# distancing's). Never counted as feeling words.
FEELING_EXEMPT = frozenset(
    {"help", "helps", "helped", "helping", "helpful", "support", "supports", "supported",
     "supporting", "supportive", "please", "like", "likes", "liked", "yes", "no", "ok", "okay",
     "sure", "thanks", "thank", "care", "cares", "want", "wants", "wanted", "important",
     "matter", "matters", "trust", "well", "fine", "right", "fair", "worth", "natural", "true",
     "free", "safe", "safely", "strong", "fault", "blame", "blamed", "wrong", "fail", "failed",
     "fails", "justice", "honest", "honestly", "share", "encourage", "encouraged", "agree",
     "respect", "ready", "clear", "clearly", "reach", "ability", "able", "interest",
     "interested", "hard", "growth", "opportunity", "chance", "serious", "seriously", "lying",
     "lie", "lies", "lay", "crowded", "pool", "pools", "cut", "cuts", "dark", "cold", "fire"}
)  # fmt: skip
# Words that name what happened (events, harms, their vague stand-ins): granularity mismatch's,
# never feeling words under the disambiguation rules, whatever VADER rates them.
EVENT_ONLY_WORDS = frozenset(
    {"accident", "accidents", "tragedy", "tragedies", "tragic", "crisis", "disaster",
     "disasters", "emergency", "loss", "losses", "lost", "fire", "fires", "collapse",
     "collapsed", "incident", "incidents", "casualties", "fatalities", "fatality", "problem",
     "problems", "damage", "damaged", "destruction", "war", "victim", "victims", "funeral",
     "prison", "jail", "arrest", "arrested", "crime", "crash", "crashed", "storm", "flood",
     "danger", "dangerous", "threat", "threats", "threatened", "fired", "lawsuit", "debt",
     "rejected", "rejection", "cancer", "illness", "disease", "poverty", "mocked", "yelled",
     "shouted", "insulted", "ridiculed", "ignored", "excluded", "screamed", "scream", "screams",
     "screaming", "trapped", "stuck", "buried"}
)  # fmt: skip

INTENSIFIERS = frozenset(
    {
        "very", "so", "really", "extremely", "utterly", "completely", "totally", "absolutely",
        "deeply", "terribly", "incredibly", "truly", "awfully", "horribly", "badly", "such",
        "entirely", "profoundly", "desperately", "bitterly", "fucking", "damn", "too",
        "unbearably", "overwhelmingly", "painfully", "intensely", "thoroughly", "genuinely",
        "hugely", "enormously", "immensely", "tremendously", "exceptionally", "particularly",
        "especially", "insanely", "most", "beyond", "utter", "complete", "total", "sheer",
    }
)  # fmt: skip

# A mild hedge in front of an emotion word lowers it ("a bit upset").
DOWNTONERS = frozenset(
    {"slightly", "somewhat", "bit", "little", "fairly", "rather", "mildly", "perhaps", "maybe",
     "possibly", "kind", "sort", "understandably", "moderately", "partly", "relatively",
     "reasonably", "marginally", "vaguely", "faintly", "tad", "touch", "sometimes",
     "occasionally", "mostly", "may", "might", "seem", "seems", "seemed", "probably"}
)  # fmt: skip

NEGATORS = frozenset(
    {"not", "no", "never", "nobody", "nothing", "neither", "nor", "without", "hardly",
     "barely", "don't", "didn't", "doesn't", "isn't", "wasn't", "aren't", "weren't", "can't",
     "cannot", "won't", "couldn't", "wouldn't", "shouldn't", "haven't", "hasn't", "hadn't"}
)  # fmt: skip

# Official or clinical words for feeling itself (SA's neutral register under the rules).
FEELING_REGISTER = frozenset(
    {"feelings", "emotions", "emotional", "emotionally", "distress", "distressing", "discomfort",
     "wellbeing", "well-being", "concerns", "concern", "understandable", "valid", "processing",
     "manage", "managing", "cope", "coping", "impacted", "unfortunate", "unfortunately",
     "regrettable", "appropriate", "significant", "stressors", "reactions", "response",
     "sentiments", "mood", "morale", "frustrations", "self-care"}
)  # fmt: skip

# Frequent four-letter-plus function words, not repetition that carries emotion.
FORM_STOPWORDS = frozenset(
    {"that", "this", "with", "have", "from", "they", "them", "their", "there", "were", "what",
     "when", "your", "about", "would", "could", "been", "will", "just", "into", "than", "then",
     "some", "like", "only", "also", "very", "more", "much", "even", "does", "said", "says",
     "which", "where", "while", "these", "those", "other", "after", "before", "because", "should",
     "still", "over", "down", "back", "here", "each", "every", "being", "doing", "going"}
)  # fmt: skip

# Euphemistic or clinical register: words that professionalise pain and lower intensity.
CLINICAL_WORDS = frozenset(
    {
        "incident", "incidents", "situation", "situations", "challenging", "challenges",
        "challenge", "difficulties", "difficult", "concerns", "concern", "issue", "issues",
        "experience", "experiences", "experiencing", "feelings", "emotions", "emotional",
        "understandable", "valid", "process", "processing", "manage", "managing", "cope",
        "coping", "impacted", "affected", "casualties", "fatalities", "deceased", "passed",
        "unfortunate", "unfortunately", "regrettable", "tragic", "tragedy", "event", "events",
        "circumstances", "matter", "aspect", "aspects", "distress", "distressing", "wellbeing",
        "well-being", "stakeholders", "appropriate", "measures", "outcome", "outcomes",
        "individuals", "persons", "neutralised", "neutralized", "altercation", "disturbance",
        "significant", "various", "reportedly", "alleged", "allegedly", "discomfort",
    }
)  # fmt: skip

# --- Aversive elements, the authors' five EGM categories (lexicon judge) -----------------------
# One point per element word; vague words ("incident", "tragedy") are deliberately absent.
AVERSIVE: dict[str, frozenset[str]] = {
    "death": frozenset(
        {"killed", "kill", "kills", "killing", "killings", "dead", "death", "deaths", "died",
         "die", "dies", "dying", "murder", "murdered", "murders", "slain", "slaughtered",
         "massacre", "massacred", "executed", "execution", "fatal", "fatally", "drowned",
         "corpse", "corpses", "bodies", "body", "homicide", "suicide", "lifeless", "perished",
         "assassinated", "beheaded", "lynched", "strangled", "suffocated"}
    ),
    "violence": frozenset(
        {"attack", "attacked", "attacks", "attacker", "attackers", "shot", "shooting",
         "shootings", "gunfire", "gunman", "gunmen", "stabbed", "stabbing", "bomb", "bombing",
         "bombed", "explosion", "exploded", "blast", "beaten", "beat", "beating", "punched",
         "kicked", "assault", "assaulted", "rampage",
         "ambushed", "raided", "shelling", "airstrike", "airstrikes", "clashes", "rioting",
         "smashed", "slashed", "hacked", "grenade", "slapped", "shoved", "choked", "missile",
         "missiles", "gunshot", "gunshots",
         "violence", "violent", "fight", "fought", "war"}
    ),
    "injury": frozenset(
        {"injured", "injuries", "injury", "wounded", "wounds", "wound", "hurt", "maimed",
         "bruised", "bruises", "fractured", "fracture", "broken", "burns", "burned", "burnt",
         "bleeding", "bled", "concussion", "paralysed", "paralyzed", "amputated", "crippled",
         "hospitalised", "hospitalized", "scarred", "cuts", "gashes"}
    ),
    "graphic": frozenset(
        {"blood", "bloodied", "bloody", "gore", "entrails", "severed", "charred",
         "mutilated", "dismembered", "decapitated", "disfigured", "skull", "brains", "flesh",
         "bone", "bones", "guts", "intestines", "limbs", "torn", "splattered", "rotting",
         "decomposed", "decomposing", "screaming", "screams", "shrapnel", "burning", "ashes",
         "rubble", "crushed", "gaping", "oozing", "stench", "vomit", "vomited"}
    ),
    "abuse": frozenset(
        {"abuse", "abused", "abusing", "abuser", "tortured", "torture", "torturing", "raped",
         "rape", "molested", "molestation", "trafficked", "trafficking", "enslaved",
         "beatings", "whipped", "flogged", "starved", "starving", "bullied", "bullying",
         "harassed", "harassment", "degraded", "neglected", "battered",
         "kidnapped", "abducted", "hostage", "hostages", "imprisoned", "persecuted",
         "terrorised", "terrorized", "exploited", "groomed", "coerced", "mocked", "mocking",
         "insulted", "yelled", "shouted", "ridiculed", "belittled", "threatened", "intimidated",
         "stalked", "groped", "berated"}
    ),
}  # fmt: skip
AVERSIVE_CATEGORIES: tuple[str, ...] = ("death", "violence", "injury", "graphic", "abuse")

# --- Conflict avoidance (both judges; judge.offline.moves) -------------------------------------
# Imperative sentence starts (base verbs) that usually introduce a directive.
IMPERATIVE_VERBS = frozenset(
    {"try", "consider", "remember", "take", "make", "focus", "talk", "speak", "reach",
     "write", "keep", "set", "stop", "start", "avoid", "seek", "find", "let", "don't",
     "do", "be", "give", "allow", "practice", "practise", "document", "report", "contact",
     "ask", "tell", "think", "look", "go", "get", "use", "remind", "build", "prioritise",
     "prioritize", "schedule", "breathe", "please", "stay", "accept", "forgive", "move",
     "call", "email", "text", "book", "plan", "prepare", "list", "note", "journal", "join",
     "read", "review", "revise", "study", "learn", "rest", "sleep", "eat", "exercise", "walk",
     "come", "see", "check", "forget", "ignore", "continue", "follow", "share", "explain",
     "express", "acknowledge", "recognise", "recognize", "celebrate", "reward", "treat",
     "trust", "believe", "choose", "decide", "create", "search", "reflect", "imagine",
     "picture", "relax", "calm", "slow", "pause", "step", "leave", "quit", "confront", "record",
     "gather", "collect", "arrange", "organise", "organize", "apply", "request", "approach",
     "invite", "meet", "visit", "reconnect", "connect", "lean", "reframe", "view", "notice",
     "limit", "reduce", "cut", "say", "put", "bring", "send", "update", "protect", "pick",
     "hold", "attend", "sign", "enrol", "enroll", "register", "aim", "shift", "turn",
     "switch", "volunteer", "wait", "sit", "drink", "mention", "raise", "flag", "escalate",
     "embrace", "cherish", "listen", "realise", "realize", "never", "always", "demand",
     "insist", "refuse", "block", "delete", "print", "save", "file", "involve", "loop",
     "draft", "jot", "map", "break", "split", "track", "measure", "lower",
     "release", "drop", "own", "frame", "phrase", "ease", "spend"}
)  # fmt: skip

# --- Shared person vocabulary (both judges) ----------------------------------------------------
PERSONAL_PRONOUNS = frozenset(
    {"i", "you", "he", "she", "we", "they", "me", "him", "her", "us", "them", "i'm", "i've",
     "i'd", "i'll", "you're", "you've", "you'd", "you'll", "he's", "she's", "we're", "we've",
     "they're", "they've", "someone", "somebody", "everyone", "everybody", "nobody",
     "anyone", "anybody", "who", "myself", "yourself", "himself", "herself", "ourselves",
     "themselves"}
)  # fmt: skip
FIRST_SINGULAR = frozenset({"i", "me", "my", "mine", "myself", "i'm", "i've", "i'd", "i'll"})

PERSON_NOUNS = frozenset(
    {
        "person", "people", "man", "men", "woman", "women", "child", "children", "kid", "kids",
        "boy", "boys", "girl", "girls", "baby", "babies", "mother", "father", "mum", "mom",
        "dad", "parent", "parents", "son", "sons", "daughter", "daughters", "brother",
        "sister", "husband", "wife", "partner", "friend", "friends", "colleague",
        "colleagues", "coworker", "coworkers", "boss", "manager", "managers", "employee",
        "employees", "staff", "worker", "workers", "student", "students", "teacher",
        "teachers", "doctor", "doctors", "nurse", "nurses", "patient", "patients", "client",
        "clients", "victim", "victims", "survivor", "survivors", "resident", "residents",
        "villager", "villagers", "officer", "officers", "police", "soldier", "soldiers",
        "witness", "witnesses", "neighbour", "neighbours", "neighbor", "neighbors",
        "family", "families", "team", "crowd", "author", "reporter", "official", "officials",
        "spokesperson", "spokesman", "spokeswoman", "leader", "leaders", "gunman", "gunmen",
        "attacker", "attackers", "suspect", "suspects", "pupil", "pupils", "classmate",
        "classmates", "grandmother", "grandfather", "uncle", "aunt", "cousin", "wife's",
        "girlfriend", "boyfriend", "stranger", "strangers", "passenger", "passengers",
        "citizen", "citizens", "farmer", "farmers", "individual", "individuals", "adult",
        "adults", "teenager", "teenagers", "lady", "gentleman", "king", "queen", "emperor",
        "master", "servant", "monk", "old", "youth", "peasant", "peasants", "mayor", "minister",
    }
)  # fmt: skip

# --- Structural approximations (structure judge) -----------------------------------------------
BE_GET_FORMS = frozenset(
    {"am", "is", "are", "was", "were", "be", "been", "being", "'s", "'re", "'m", "get", "gets",
     "got", "gotten", "getting"}
)  # fmt: skip
AUXILIARIES = frozenset(
    {"am", "is", "are", "was", "were", "be", "been", "have", "has", "had", "do", "does", "did",
     "will", "would", "can", "could", "shall", "should", "may", "might", "must", "i'm",
     "you're", "he's", "she's", "it's", "we're", "they're", "i've", "you've", "we've",
     "they've", "i'd", "you'd", "he'd", "she'd", "we'd", "they'd", "i'll", "you'll", "he'll",
     "she'll", "we'll", "they'll", "isn't", "aren't", "wasn't", "weren't", "don't", "doesn't",
     "didn't", "can't", "cannot", "won't", "wouldn't", "couldn't", "shouldn't", "haven't",
     "hasn't", "hadn't", "there's", "that's"}
)  # fmt: skip
# Past participles that do not end in -ed (for be/get + participle passives).
IRREGULAR_PARTICIPLES = frozenset(
    {"been", "born", "borne", "beaten", "begun", "bitten", "blown", "broken", "brought",
     "built", "bought", "caught", "chosen", "come", "cut", "dealt", "done", "drawn", "driven",
     "eaten", "fallen", "felt", "fought", "found", "forgiven", "forgotten", "frozen", "given",
     "gone", "grown", "held", "hidden", "hit", "hurt", "kept", "known", "laid", "led", "left",
     "lent", "let", "lost", "made", "meant", "met", "paid", "put", "read", "ridden", "risen",
     "run", "said", "seen", "sent", "set", "shaken", "shot", "shown", "shut", "slain", "sold",
     "spent", "spoken", "spun", "stolen", "struck", "stuck", "sung", "swept", "sworn",
     "taken", "taught", "thrown", "told", "torn", "thought", "understood", "undone", "woken",
     "won", "worn", "written", "wound", "withheld", "overcome", "overseen", "undertaken"}
)  # fmt: skip
# -ed words that after "be" are usually adjectives ("I was tired"), which a parser tags acomp.
ADJECTIVAL_ED = frozenset(
    {"tired", "scared", "worried", "interested", "excited", "bored", "married", "pleased",
     "surprised", "frightened", "terrified", "ashamed", "embarrassed", "confused", "annoyed",
     "disappointed", "satisfied", "concerned", "exhausted", "relieved", "frustrated",
     "devastated", "stressed", "overwhelmed", "used", "supposed", "related", "needed",
     "red", "bed", "shed", "sacred", "naked", "wicked", "rugged", "beloved", "aged",
     "sophisticated", "complicated", "detailed", "experienced", "talented", "qualified",
     "isolated", "attached"}
)  # fmt: skip
COMMON_VERBS = frozenset(
    {"say", "says", "said", "tell", "tells", "told", "feel", "feels", "felt", "think", "thinks",
     "thought", "know", "knows", "knew", "go", "goes", "went", "come", "comes", "came", "take",
     "takes", "took", "make", "makes", "made", "see", "sees", "saw", "get", "gets", "got",
     "give", "gives", "gave", "keep", "keeps", "kept", "want", "wants", "need", "needs", "seem",
     "seems", "left", "leave", "leaves", "find", "finds", "found", "hear", "heard", "ran",
     "run", "runs", "stood", "sat", "fell", "held", "lost", "began", "became", "become",
     "becomes", "brought", "wrote", "spoke", "broke", "struck", "shot", "hurt", "cut", "put",
     "let", "met", "paid", "sent", "spent", "lay", "lies", "lie", "cry", "cries", "hate",
     "hates", "love", "loves", "remain", "remains", "remember", "can't", "won't", "wish",
     "hope", "believe", "believes", "means", "mean", "happen", "happens", "suggests",
     "shows", "show", "include", "includes", "occur", "occurs", "appear", "appears"}
)  # fmt: skip
# Nouns ending in the nominal suffixes are counted; these are frequent non-nouns with the same
# endings (adjectives, verbs, adverbs), a stand-in for the POS tag the paper uses.
NOMINAL_STOPLIST = frozenset(
    {"general", "normal", "final", "personal", "several", "legal", "local", "national",
     "social", "medical", "mental", "physical", "emotional", "critical", "special", "real",
     "usual", "actual", "natural", "original", "political", "total", "central", "typical",
     "formal", "informal", "global", "federal", "official", "crucial", "essential", "initial",
     "additional", "professional", "international", "traditional", "individual", "equal",
     "brutal", "fatal", "vital", "royal", "loyal", "illegal", "internal", "external", "annual",
     "digital", "practical", "potential", "financial", "environmental", "fundamental",
     "literal", "logical", "historical", "musical", "visual", "virtual", "mutual", "gradual",
     "casual", "sexual", "spiritual", "cultural", "rural", "moral", "oral", "verbal",
     "occasional", "conditional", "sentimental", "since", "once", "hence", "whence", "reveal",
     "conceal", "appeal", "heal", "steal", "deal", "dial", "seal", "enhance", "advance",
     "convince", "commence", "announce", "whenever", "implement", "supplement", "ferment"}
)  # fmt: skip
NOMINAL_SUFFIXES: tuple[str, ...] = ("tion", "sion", "ment", "ance", "ence", "ity", "ness", "al")
NUMBER_WORDS = frozenset(
    {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
     "twelve", "twenty", "thirty", "forty", "fifty", "hundred", "hundreds", "thousand",
     "thousands", "million", "millions", "dozen", "dozens", "first", "second", "third", "half"}
)  # fmt: skip
# Concrete, picturable nouns (body, objects, places, weapons): a proxy for detail granularity.
CONCRETE_NOUNS = frozenset(
    {"hand", "hands", "face", "eyes", "eye", "head", "arm", "arms", "leg", "legs", "chest",
     "throat", "mouth", "blood", "skin", "hair", "body", "bodies", "knife", "gun", "guns",
     "rifle", "bullet", "bullets", "bomb", "car", "cars", "truck", "bus", "train", "house",
     "houses", "home", "door", "window", "windows", "street", "road", "bridge", "school",
     "hospital", "church", "mosque", "market", "shop", "office", "desk", "room", "kitchen",
     "bed", "floor", "wall", "walls", "roof", "fire", "smoke", "water", "river", "field",
     "village", "city", "town", "phone", "email", "letter", "table", "chair", "meeting",
     "bag", "money", "coat", "shoes", "dress", "rope", "stone", "stones", "glass", "bottle",
     "rice", "bread", "tea", "rain", "snow", "mud", "tree", "trees", "dog", "horse", "ship",
     "boat", "plane", "tent", "camp", "cell", "prison", "ward", "ambulance", "coffin",
     "grave", "tears", "scar", "scars", "bruise", "wound", "wounds", "boss", "screen"}
)  # fmt: skip
CLAUSE_OPENERS = frozenset(
    {"because", "when", "while", "although", "though", "if", "after", "before", "since",
     "until", "whereas", "but", "and", "so", "yet", "that", "which", "who", "as"}
)  # fmt: skip

# --- Can the judges read a text at all? ----------------------------------------------------------
# Frequent English function words, and frequent function words of the other Latin-script languages
# in the datasets (Spanish, French, German) that are not also common English words ("die", "was",
# "in", "an", "son" and the like are left out). A text with more of the second kind than of the
# first is not English, and every list above is English-only.
ENGLISH_FUNCTION_WORDS = frozenset(
    {"the", "a", "an", "and", "or", "but", "of", "to", "in", "on", "at", "for", "with", "from",
     "by", "as", "is", "are", "was", "were", "be", "been", "it", "its", "this", "that", "these",
     "those", "i", "you", "he", "she", "we", "they", "me", "him", "her", "us", "them", "my",
     "your", "his", "our", "their", "not", "no", "do", "does", "did", "have", "has", "had",
     "will", "would", "can", "could", "should", "there", "what", "when", "where", "who",
     "which", "how", "if", "so", "than", "then", "just", "all", "very"}
)  # fmt: skip
OTHER_FUNCTION_WORDS = frozenset(
    {"el", "la", "los", "las", "que", "y", "de", "del", "en", "un", "una", "por", "para", "con",
     "su", "se", "lo", "al", "es", "está", "pero", "mi", "yo", "muy", "le", "les", "des", "du",
     "et", "est", "une", "je", "il", "elle", "nous", "vous", "pas", "ne", "qui", "dans", "sur",
     "avec", "ce", "cette", "au", "aux", "mais", "sa", "ses", "mon", "der", "das", "und",
     "nicht", "ist", "ich", "mit", "zu", "dem", "ein", "eine", "sie", "wir", "auf", "für",
     "von", "aus", "nach", "wie", "auch", "j'ai", "c'est"}
)  # fmt: skip

# --- Granularity: facts and their vague stand-ins (both judges) ---------------------------------
NUMBER_VALUES: dict[str, str] = {
    "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
    "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14",
    "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19",
    "twenty": "20", "thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70",
    "eighty": "80", "ninety": "90", "hundred": "100", "hundreds": "100s", "thousand": "1000",
    "thousands": "1000s", "million": "1000000", "millions": "1000000s", "dozen": "12",
    "dozens": "12s", "twice": "2", "double": "2", "half": "1/2", "first": "1st", "second": "2nd",
    "third": "3rd", "fourth": "4th", "fifth": "5th", "both": "2", "pair": "2", "couple": "2",
}  # fmt: skip
TIME_WORDS = frozenset(
    {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january",
     "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december", "morning", "afternoon", "evening", "night", "midnight", "noon",
     "dawn", "dusk", "yesterday", "today", "tonight", "tomorrow", "week", "weeks", "month",
     "months", "year", "years", "hour", "hours", "minute", "minutes", "weekend", "overnight",
     "daily", "weekly", "christmas", "summer", "winter", "spring", "autumn"}
)  # fmt: skip
# Vague or official stand-ins for events and acts: the euphemisms the rules give to granularity
# mismatch ("killed" -> "lost their lives", "died in the fire" -> "an incident").
VAGUE_EVENT_TERMS: tuple[str, ...] = (
    "incident", "incidents", "situation", "situations", "event", "events", "matter", "matters",
    "issue", "issues", "tragedy", "tragic", "accident", "difficulties", "difficulty",
    "challenges", "challenging", "circumstances", "casualties", "fatalities", "occurrence",
    "lost their lives", "lost his life", "lost her life", "loss of life", "passed away",
    "sustained injuries", "were harmed", "was harmed", "were affected", "was affected",
    "what happened", "what you're going through", "what you are going through",
    "what you've been through", "these things", "such things", "some things", "something",
    "things", "setback", "setbacks", "dynamics", "concerns", "behaviour", "behavior",
    "conduct", "interaction", "interactions", "dispute", "altercation", "disturbance",
    "unrest", "an episode", "a development", "developments", "aspects", "factors",
)  # fmt: skip
