#!/usr/bin/env python3
"""Write policies/std/std.privet, the standard vocabulary, from the fideslang
taxonomy CSVs (keys and hierarchy only) and the additions of VOCABULARY.md.

Usage: python3 scripts/gen_std.py [FIDESLANG_DIR]   (default ../shared/vocab/fideslang)
"""
import csv
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SRC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "vocab", "fideslang")
OUT = os.path.join(ROOT, "policies", "std", "std.privet")

# Keys std adds to the fideslang data categories (VOCABULARY.md section 1).
DATA_ADDITIONS = [
    ("non_personal", "information that cannot identify a person"),
    ("non_personal.statistics", "aggregate counts, such as how many people visited a website"),
    ("non_personal.anonymized", "data from which identifiers were irreversibly removed"),
    ("user.telemetry.error_report", "a report of a fault or crash on the user's device or app"),
    ("user.device.configuration", "device name and model, system and app versions, language and region"),
    ("user.device.network", "identifiers of the carrier or mobile network (PLMN)"),
    ("user.social.account", "the social network account a user signs in with"),
    ("user.social.contacts", "contact details of the user's friends"),
    ("user.behavior.email_engagement", "whether a message was opened or a link in it followed"),
    ("user.behavior.usage_log", "operation logs: when, which page or module, for how long"),
    ("user.demographic.nationality", "nationality"),
]

CLASSES = {
    "non_personal": "non_personal",
    "system": "non_personal",
    "user": "personal",
    "user.biometric": "sensitive",
    "user.health_and_medical": "sensitive",
    "user.criminal_history": "sensitive",
    "user.childrens": "sensitive",
    "user.demographic.political_opinion": "sensitive",
    "user.demographic.race_ethnicity": "sensitive",
    "user.demographic.religious_belief": "sensitive",
    "user.demographic.sexual_orientation": "sensitive",
    "user.authorization.biometric": "sensitive",
}

RECIPIENTS = [
    ("first_party", "the controller itself: the company whose policy it is"),
    ("affiliate", "affiliates and subsidiaries, separate companies of the same group"),
    ("processor", "authorized partners who process data on the controller's behalf"),
    ("processor.logistics", "carriers and delivery services"),
    ("processor.support", "customer and technical support providers"),
    ("processor.payment", "payment service providers"),
    ("processor.cloud", "hosting and cloud providers"),
    ("processor.marketing", "agencies that run marketing for the controller"),
    ("third_party", "independent parties that decide for themselves what they do with data"),
    ("third_party.business_partner", "business partners outside the group"),
    ("third_party.advertiser", "advertisers and ad networks"),
    ("third_party.social_network", "social networks"),
    ("third_party.website", "websites the controller links to"),
    ("third_party.user_chosen", "people or services the user chooses to share with"),
    ("third_party.data_broker", "buyers and resellers of personal data"),
    ("authority", "public bodies"),
    ("authority.law_enforcement", "police and other law enforcement"),
    ("authority.government", "government agencies"),
    ("authority.court", "courts and tribunals"),
    ("transaction_party", "parties to a merger, acquisition, restructuring or insolvency"),
    ("public", "anyone: the data is published"),
]

ACTIONS = [
    ("collect", "obtain the data"),
    ("use", "process the data for a purpose"),
    ("store", "keep the data"),
    ("share", "make the data available to a recipient"),
    ("share.sell", "hand the data over for money or other consideration"),
]

FACTS = [
    ("consent", "set of purpose", "[]", "purposes the subject consented to; a purpose covers those below it"),
    ("explicit_consent", "set of purpose", "[]", "purposes the subject gave express, direct consent to"),
    ("opt_out", "set of purpose", "[]", "purposes the subject opted out of or unsubscribed from"),
    ("parental_consent", "bool", "false", "a parent or guardian gave verified consent"),
    ("subject_age", "int", None, "the age of the data subject in years; unknown when not given"),
    ("dnt", "bool", "false", "the browser sent a Do Not Track signal"),
    ("location_services", "bool", "false", "location services are switched on for this service"),
    ("user_initiated", "bool", "false", "the subject chose to send this data, an error report say"),
    ("cross_border", "bool", "false", "the data leaves the country or region it was collected in"),
    ("safeguards", "set of { scc, bcr, adequacy, consent, anonymization }", "[]",
     "the transfer mechanisms in place"),
]

BASES = [
    ("consent", "consent(purpose) or explicit_consent(purpose)",
     "the subject agreed to this purpose (explicit consent counts too)"),
    ("explicit_consent", "explicit_consent(purpose)", "the subject expressly agreed to this purpose"),
    ("parental_consent", "parental_consent", "a parent or guardian agreed"),
    ("contract", None, "needed to perform a contract with the subject"),
    ("legal_obligation", None, "required by law"),
    ("legitimate_interest", None, "the controller's legitimate interest, balanced against the subject's"),
    ("vital_interest", None, "needed to protect someone's life or safety"),
    ("public_interest", None, "a task in the public interest"),
]

OBLIGATIONS = [
    ("minimize", "process only the data the purpose needs"),
    ("purpose_bound", "the recipient may use the data for this purpose alone"),
    ("delete_when_done", "delete the data once the purpose is served"),
    ("offer_opt_out", "every message offers a way to opt out"),
    ("confidentiality", "the recipient is bound to keep the data confidential"),
    ("security_measures", "protect the data with appropriate technical and organisational measures"),
    ("notify_subject", "tell the subject before processing"),
    ("anonymize", "strip identifiers before the data leaves"),
]


def rows(name):
    with open(os.path.join(SRC, name), newline="") as f:
        return [r for r in csv.DictReader(f) if r["parent_key"]]


def keys(name, root):
    """fideslang keys in file order, with their parents (None for roots)."""
    out = []
    for r in rows(name):
        parent = r["parent_key"]
        out.append((r["fides_key"], None if parent == root else parent))
    return out


def q(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def key_line(keyword, key, parent, extra=""):
    # The parent is implied by the dotted prefix; name it only when it is not.
    implied = key.rsplit(".", 1)[0] if "." in key else None
    under = f" under {parent}" if parent and parent != implied else ""
    if parent is None and implied is not None:
        raise SystemExit(f"{key}: a dotted key without a parent")
    return f"{keyword} {key}{under}{extra}"


def main():
    out = []
    w = out.append
    w("// The standard vocabulary of privet: the keys every policy and request speaks.")
    w("// Generated by scripts/gen_std.py; do not edit by hand.")
    w("// Data categories, purposes and subjects: keys and hierarchy of the fideslang")
    w("// taxonomy (Ethyca / IAB Tech Lab, CC BY 4.0). Everything else: VOCABULARY.md.")
    w("vocabulary std {")
    w('    title "privet standard vocabulary"')
    w("}")
    w("")
    w("// ---- data categories: fideslang, then the additions of std")
    data = keys("data_categories.csv", "data_category")
    seen = {k for k, _ in data}
    for key, parent in data:
        cls = CLASSES.get(key)
        w(key_line("data", key, parent, f" class {cls}" if cls else ""))
    for key, desc in DATA_ADDITIONS:
        parent = key.rsplit(".", 1)[0] if "." in key else None
        cls = CLASSES.get(key)
        assert key not in seen, key
        w(key_line("data", key, parent, (f" class {cls}" if cls else "") + f" {q(desc)}"))
    w("")
    w("// ---- purposes: fideslang data uses")
    for key, parent in keys("data_uses.csv", "data_use"):
        w(key_line("purpose", key, parent))
    w("")
    w("// ---- recipients: who receives the data")
    for key, desc in RECIPIENTS:
        w(f"recipient {key} {q(desc)}")
    w("")
    w("// ---- actions")
    for key, desc in ACTIONS:
        w(f"action {key} {q(desc)}")
    w("")
    w("// ---- data subjects: fideslang, flat")
    for key, _ in keys("data_subjects.csv", "data_subject"):
        w(f"subject {key}")
    w("")
    w("// ---- context facts a request may carry")
    for name, ty, default, desc in FACTS:
        d = f" default {default}" if default is not None else ""
        w(f"fact {name}: {ty}{d} {q(desc)}")
    w("")
    w("// ---- legal bases: what each needs before an allow may rely on it")
    for name, requires, desc in BASES:
        r = f" requires {requires}" if requires else ""
        w(f"legal_basis {name}{r} {q(desc)}")
    w("")
    w("// ---- obligations an allow may attach")
    for name, desc in OBLIGATIONS:
        w(f"obligation {name} {q(desc)}")
    with open(OUT, "w") as f:
        f.write("\n".join(out) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
