//! How the promises changed between Huawei's policies: the same request,
//! decided differently by two of them, each difference pinned with the
//! rules and citations that make it.

use privet::{Decision, Policy, Request};

fn policy(name: &str) -> Policy {
    Policy::from_path(format!("policies/huawei/{name}.privet"))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn decide(name: &str, request: &Request) -> Decision {
    policy(name)
        .decide(request)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn cites(decision: &Decision) -> Vec<String> {
    decision
        .reasons
        .iter()
        .filter_map(|r| r.cite.clone())
        .collect()
}

/// Browsing history analysed to improve products, for a browser that sends Do Not Track.
fn tracked_with_dnt() -> Request {
    Request::new(["user.behavior.browsing_history"])
        .purpose("functional.service.improve")
        .fact("subject_age", 30)
        .fact("dnt", true)
}

#[test]
fn do_not_track_was_not_honoured_in_2016_and_is_in_2018() {
    let website = decide("website-2016", &tracked_with_dnt());
    assert!(
        website.allowed,
        "the 2016 website kept collecting: {:?}",
        cites(&website)
    );
    let global = decide("global-2016", &tracked_with_dnt());
    assert!(
        global.allowed,
        "the 2016 global policy says nothing of Do Not Track"
    );
    let community = decide("enterprise-community-2018", &tracked_with_dnt());
    assert!(!community.allowed);
    assert!(
        cites(&community).iter().any(|c| c.contains("Do Not Track")),
        "{:?}",
        cites(&community)
    );
    // Without the signal, 2018 allows what DNT stopped.
    let without = tracked_with_dnt().fact("dnt", false);
    assert!(decide("enterprise-community-2018", &without).allowed);
}

#[test]
fn the_cookie_page_leaves_collection_unchanged_under_do_not_track() {
    let analytics = |dnt: bool| {
        Request::new(["user.behavior.browsing_history"])
            .purpose("analytics")
            .fact("subject_age", 30)
            .fact("consent", ["analytics"])
            .fact("dnt", dnt)
    };
    assert!(decide("consumer-cookies", &analytics(true)).allowed);
    assert!(decide("consumer-cookies", &analytics(false)).allowed);
    assert!(!decide("enterprise-community-2018", &analytics(true)).allowed);
}

/// Contact details handed over, for money, in a merger.
fn sold_in_a_merger() -> Request {
    Request::new(["user.contact.email"])
        .purpose("operations.corporate_transaction")
        .recipient("transaction_party")
        .action("share.sell")
        .fact("subject_age", 30)
}

#[test]
fn data_could_be_sold_in_a_transaction_in_2016_and_never_from_the_device_policy_on() {
    let global = decide("global-2016", &sold_in_a_merger());
    assert!(global.allowed);
    assert!(
        cites(&global)
            .iter()
            .any(|c| c.contains("§3 ¶2 transactions")),
        "{:?}",
        cites(&global)
    );
    for later in ["device-2016", "enterprise-community-2018"] {
        let decision = decide(later, &sold_in_a_merger());
        assert!(!decision.allowed, "{later}");
        assert!(
            cites(&decision).iter().any(|c| c.contains("sell")),
            "{later}: {:?}",
            cites(&decision)
        );
    }
    // A transfer in the merger that is not a sale stays allowed under the device policy.
    let transfer = Request::new(["user.contact.email"])
        .purpose("operations.corporate_transaction")
        .recipient("transaction_party")
        .fact("subject_age", 30)
        .fact("lawful_in_jurisdiction", true);
    assert!(decide("device-2016", &transfer).allowed);
}

/// Uploaded content shared with someone the user picked, at the user's request.
fn shared_with_a_friend(consent: &str) -> Request {
    Request::new(["user.content.private"])
        .purpose("functional.storage")
        .recipient("third_party.user_chosen")
        .fact("subject_age", 30)
        .fact("user_initiated", true)
        .fact(consent, ["functional.storage"])
}

#[test]
fn sharing_with_people_you_choose_needs_express_consent_in_the_device_policy() {
    // 2016 global: the user's own request to share is enough.
    assert!(decide("global-2016", &shared_with_a_friend("consent")).allowed);
    // 2016 device: plain consent is not express consent...
    let device = decide("device-2016", &shared_with_a_friend("consent"));
    assert!(!device.allowed);
    assert!(
        device.hints.iter().any(|h| h.contains("explicit_consent")),
        "the decision says what is missing: {:?}",
        device.hints
    );
    // ...express consent is.
    let express = decide("device-2016", &shared_with_a_friend("explicit_consent"));
    assert!(express.allowed);
    assert_eq!(express.basis.as_deref(), Some("explicit_consent"));
}

#[test]
fn a_child_is_under_13_in_2016_and_under_16_in_the_2018_community() {
    let fourteen = Request::new(["user.contact.email"])
        .purpose("essential.service")
        .fact("subject_age", 14);
    assert!(decide("global-2016", &fourteen).allowed);
    let community = decide("enterprise-community-2018", &fourteen);
    assert!(!community.allowed);
    assert!(
        cites(&community).iter().any(|c| c.contains("§7")),
        "{:?}",
        cites(&community)
    );
}
