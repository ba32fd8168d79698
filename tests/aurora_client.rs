//! The Aurora client against the simulator, over real loopback HTTP.

use amap::runtime::aurora::returns::{
    BlobContainer, Snapshot, day_prefix, local_time, parse_blob_name,
};
use amap::runtime::aurora::{
    AttachmentRef, AuroraClient, AuroraError, AuroraSettings, ContactMatch, NewContact,
    SystemCodeIn,
};
use amap::schema::{AuroraField, AuroraSchema, Decl, ScalarType, Udf, Wire};
use amap::sim::{self, Faults, FaultsUpdate, SimConfig, SimHandle, TriggerRequest};
use serde_json::{Value, json};
use std::time::Duration;

async fn start(config: SimConfig) -> SimHandle {
    sim::start(config, "127.0.0.1:0".parse().expect("address"))
        .await
        .expect("simulator starts")
}

fn client(settings: AuroraSettings) -> AuroraClient {
    AuroraClient::new(settings).expect("client")
}

fn field(
    name: &str,
    ty: ScalarType,
    required: bool,
    max_length: Option<u32>,
    values: &[&str],
) -> AuroraField {
    AuroraField {
        name: name.into(),
        ty,
        required,
        max_length,
        values: values.iter().map(|v| v.to_string()).collect(),
        wire: if ty == ScalarType::Number {
            Wire::String
        } else {
            Wire::Native
        },
        description: None,
        decl: Decl::default(),
    }
}

fn schema() -> AuroraSchema {
    AuroraSchema {
        create: vec![
            field(
                "caseTypeCode",
                ScalarType::Choice,
                true,
                None,
                &["POTHOLE", "STREETLIGHT"],
            ),
            field("description", ScalarType::Text, true, Some(40), &[]),
            field("externalReference", ScalarType::Text, false, Some(30), &[]),
            field("easting", ScalarType::Number, false, None, &[]),
        ],
        contact: vec![field("lastName", ScalarType::Text, true, Some(50), &[])],
        udfs: vec![Udf {
            code: "DEPTH".into(),
            name: "Depth".into(),
            ty: ScalarType::Integer,
            values: vec![],
            max_length: None,
            description: None,
            decl: Decl::default(),
        }],
        snapshot: vec![],
        udf_wire: Default::default(),
    }
}

fn case_body(reference: &str) -> Value {
    json!({
        "caseTypeCode": "POTHOLE",
        "description": "Pothole\nnear the school",
        "externalReference": reference,
        "easting": "412345",
        "userDefinedFields": [{"code": "DEPTH", "value": 7}],
    })
}

#[tokio::test]
async fn a_hundred_concurrent_calls_cost_one_grant() {
    let sim = start(SimConfig::default()).await;
    let client = client(sim.aurora_settings());
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..100 {
        let c = client.clone();
        tasks.spawn(async move {
            c.find_contact_by_email(&format!("person{i}@example.org"))
                .await
        });
    }
    while let Some(result) = tasks.join_next().await {
        assert_eq!(result.expect("task").expect("call"), None);
    }
    let counts = sim.counts();
    assert_eq!(counts.grants, 1);
    assert_eq!(client.grants(), 1);
    assert_eq!(counts.calls["find_contact"], 100);
    assert_eq!(counts.calls["token"], 1);
}

#[tokio::test]
async fn an_expired_token_is_renewed_before_use() {
    let sim = start(SimConfig {
        faults: Faults {
            token_lifetime_secs: 1,
            ..Faults::default()
        },
        ..SimConfig::default()
    })
    .await;
    let mut settings = sim.aurora_settings();
    settings.token_skew_seconds = 0;
    let client = client(settings);
    client
        .find_contact_by_email("a@example.org")
        .await
        .expect("first call");
    client
        .find_contact_by_email("a@example.org")
        .await
        .expect("second call");
    assert_eq!(sim.counts().grants, 1);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    client
        .find_contact_by_email("a@example.org")
        .await
        .expect("after expiry");
    let counts = sim.counts();
    assert_eq!(counts.grants, 2);
    assert_eq!(
        counts.unauthorized, 0,
        "the client renews before the token expires"
    );
}

#[tokio::test]
async fn a_refused_token_is_granted_again_once_and_the_call_repeated() {
    let sim = start(SimConfig::default()).await;
    let client = client(sim.aurora_settings());
    client
        .find_contact_by_email("a@example.org")
        .await
        .expect("first call");
    // Revoke through the admin endpoint, as an external test harness would.
    let admin = reqwest::Client::new();
    let status = admin
        .post(format!("{}/admin/revoke-tokens", sim.base_url))
        .send()
        .await
        .expect("admin call")
        .status();
    assert_eq!(status.as_u16(), 204);
    let id = client
        .create_contact(&NewContact {
            last_name: Some("Smith".into()),
            ..NewContact::default()
        })
        .await
        .expect("call after revocation");
    assert_eq!(id.to_string(), "5001");
    let counts = sim.counts();
    assert_eq!(counts.grants, 2);
    assert_eq!(counts.unauthorized, 1);
    assert_eq!(counts.calls["create_contact"], 2);
    assert_eq!(counts.contacts, 1, "the refused call changed nothing");
}

#[tokio::test]
async fn bad_credentials_are_an_authentication_error_without_secrets() {
    let sim = start(SimConfig::default()).await;
    let mut settings = sim.aurora_settings();
    settings.password = "wrong-password-value".into();
    let client = client(settings);
    let err = client.verify_credentials().await.expect_err("refused");
    assert!(err.is_authentication(), "{err:?}");
    assert!(!err.is_transient());
    let text = format!("{err} {err:?} {client:?}");
    assert!(
        text.contains("invalid_grant: invalid_username_or_password"),
        "{text}"
    );
    assert!(!text.contains("wrong-password-value"), "{text}");
    assert!(!text.contains("sim-client-secret"), "{text}");
    let err = client
        .find_contact_by_email("a@example.org")
        .await
        .expect_err("no token");
    assert!(err.is_authentication());
    assert_eq!(sim.counts().failed_grants, 2);
    let good = AuroraClient::new(sim.aurora_settings()).expect("client");
    good.verify_credentials().await.expect("good credentials");
}

#[tokio::test]
async fn contacts_are_found_by_email_then_phone_or_created() {
    let sim = start(SimConfig {
        contacts: vec![
            json!({"firstName": "Jo", "lastName": "Ann", "emailAddress": "joann@example.org"}),
            json!({"firstName": "Ann", "lastName": "Smith", "emailAddress": "Ann@Example.org"}),
            json!({"lastName": "Caller", "mobilePhone": "07700 900123"}),
            json!({"lastName": "Landline", "homePhone": "01632 960123"}),
        ],
        rules: sim::CaseRules::from_schema(&schema()),
        ..SimConfig::default()
    })
    .await;
    let client = client(sim.aurora_settings());
    let by_email = client
        .find_or_create_contact(&NewContact {
            email: Some("ann@example.org".into()),
            phone: Some("07700 900123".into()),
            ..NewContact::default()
        })
        .await
        .expect("by email");
    assert_eq!(by_email.matched, ContactMatch::Email);
    assert_eq!(
        by_email.id.to_string(),
        "5002",
        "the exact match, not the first hit"
    );

    let by_phone = client
        .find_or_create_contact(&NewContact {
            email: Some("unknown@example.org".into()),
            phone: Some("+44 7700 900123".into()),
            ..NewContact::default()
        })
        .await
        .expect("by phone");
    assert_eq!(by_phone.matched, ContactMatch::Phone);
    assert_eq!(by_phone.id.to_string(), "5003");

    let home = client
        .find_contact_by_phone("(01632) 960-123")
        .await
        .expect("home");
    assert_eq!(home.map(|id| id.to_string()).as_deref(), Some("5004"));

    let created = client
        .find_or_create_contact(&NewContact {
            first_name: Some("New".into()),
            last_name: Some("Person".into()),
            email: Some("new@example.org".into()),
            phone: Some("01632 960999".into()),
            ..NewContact::default()
        })
        .await
        .expect("created");
    assert_eq!(created.matched, ContactMatch::Created);
    let again = client
        .find_contact_by_email("NEW@example.org")
        .await
        .expect("find");
    assert_eq!(again, Some(created.id.clone()));
    assert_eq!(sim.counts().contacts, 5);

    let err = client
        .create_contact(&NewContact {
            email: Some("x@example.org".into()),
            ..NewContact::default()
        })
        .await
        .expect_err("lastName is required");
    assert!(err.is_validation());
    assert!(
        err.to_string()
            .contains("lastName: The lastName field is required."),
        "{err}"
    );
}

#[tokio::test]
async fn attachments_arrive_with_names_and_are_listed_on_the_case() {
    let sim = start(SimConfig::with_schema(&schema())).await;
    let client = client(sim.aurora_settings());
    let contact = client
        .create_contact(&NewContact {
            last_name: Some("Smith".into()),
            ..NewContact::default()
        })
        .await
        .expect("contact");
    let photo = client
        .upload_attachment("photo.jpg", "image/jpeg", vec![0xFF; 2048])
        .await
        .expect("upload photo");
    let letter = client
        .upload_attachment("letter.pdf", "application/pdf", b"%PDF-1.4".to_vec())
        .await
        .expect("upload letter");
    assert_ne!(photo, letter);
    let stored = sim.attachment(&photo).expect("stored");
    assert_eq!(stored["fileName"], "photo.jpg");
    assert_eq!(stored["contentType"], "image/jpeg");
    assert_eq!(stored["size"], 2048);

    let mut body = case_body("CRM-1");
    body["contactId"] = contact.to_json();
    body["attachments"] = json!([
        AttachmentRef {
            id: photo.clone(),
            name: "photo.jpg".into()
        },
        AttachmentRef {
            id: letter.clone(),
            name: "letter.pdf".into()
        },
    ]);
    let case_number = client.create_case(&body).await.expect("case");
    let case = sim.case(&case_number).expect("case stored");
    assert_eq!(
        case["body"]["attachments"],
        json!([{"id": photo, "name": "photo.jpg"}, {"id": letter, "name": "letter.pdf"}])
    );
    assert_eq!(case["body"]["contactId"], contact.to_json());

    client
        .add_note(
            &case_number,
            "Files rejected: see link",
            &[AttachmentRef {
                id: letter.clone(),
                name: "letter.pdf".into(),
            }],
        )
        .await
        .expect("note");
    let case = sim.case(&case_number).expect("case stored");
    assert_eq!(case["notes"][0]["attachments"][0]["name"], "letter.pdf");

    // Listed without a name, an attachment fails the call.
    let mut nameless = case_body("CRM-2");
    nameless["attachments"] = json!([{"id": photo}]);
    let err = client
        .create_case(&nameless)
        .await
        .expect_err("nameless attachment");
    assert!(err.is_validation(), "{err:?}");
    assert!(err.to_string().contains("attachments[0].name"), "{err}");

    let counts = sim.counts();
    assert_eq!((counts.cases, counts.attachments, counts.notes), (1, 2, 1));

    let back = client
        .read_back(&case_number)
        .await
        .expect("read back")
        .expect("found");
    assert_eq!(back["caseNumber"], case_number.as_str());
    assert_eq!(client.read_back("999").await.expect("read back"), None);
}

#[tokio::test]
async fn rejected_files_and_bodies_are_validation_failures() {
    let sim = start(SimConfig {
        faults: Faults {
            max_attachment_bytes: 1024,
            ..Faults::default()
        },
        ..SimConfig::with_schema(&schema())
    })
    .await;
    let client = client(sim.aurora_settings());
    let err = client
        .upload_attachment("big.pdf", "application/pdf", vec![b'x'; 4096])
        .await
        .expect_err("too big");
    assert!(err.is_validation() && !err.is_transient(), "{err:?}");
    assert_eq!(err.status(), Some(413));
    let err = client
        .upload_attachment("run.exe", "application/x-msdownload", vec![1, 2, 3])
        .await
        .expect_err("wrong type");
    assert_eq!(err.status(), Some(415));
    assert!(err.is_validation());

    let mut body = case_body("CRM-3");
    body["description"] = json!("far too long a description for the forty character limit");
    body["caseTypeCode"] = json!("BIN");
    let err = client.create_case(&body).await.expect_err("invalid case");
    match &err {
        AuroraError::Validation {
            status,
            title,
            problems,
            ..
        } => {
            assert_eq!(*status, 400);
            assert_eq!(title, "One or more validation errors occurred.");
            let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
            assert_eq!(fields, vec!["caseTypeCode", "description"]);
        }
        other => panic!("expected a validation failure, got {other:?}"),
    }
    assert!(
        err.to_string().contains(
            "description: The field description must be a string with a maximum length of 40."
        ),
        "{err}"
    );
    assert_eq!(sim.counts().cases, 0);
}

#[tokio::test]
async fn server_errors_are_transient() {
    let sim = start(SimConfig::default()).await;
    let client = client(sim.aurora_settings());
    client.verify_credentials().await.expect("grant");
    sim.update_faults(&FaultsUpdate {
        failure_rate: Some(1.0),
        ..FaultsUpdate::default()
    })
    .expect("faults");
    let err = client
        .create_case(&case_body("CRM-4"))
        .await
        .expect_err("503");
    assert!(err.is_transient() && !err.is_lost_answer(), "{err:?}");
    assert_eq!(err.status(), Some(503));
    let err = client
        .find_contact_by_email("a@example.org")
        .await
        .expect_err("503");
    assert!(err.is_transient());
    // A grant that meets a 5xx is transient too.
    let fresh = AuroraClient::new(sim.aurora_settings()).expect("client");
    let err = fresh.verify_credentials().await.expect_err("503");
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(sim.counts().cases, 0);
}

#[tokio::test]
async fn failures_follow_the_seed() {
    async fn outcomes(seed: u64) -> Vec<bool> {
        let sim = start(SimConfig {
            seed,
            faults: Faults {
                failure_rate: 0.5,
                ..Faults::default()
            },
            ..SimConfig::default()
        })
        .await;
        let client = client(sim.aurora_settings());
        let mut out = Vec::new();
        for _ in 0..20 {
            out.push(client.find_contact_by_email("a@example.org").await.is_ok());
        }
        out
    }
    let a = outcomes(7).await;
    assert_eq!(a, outcomes(7).await);
    assert!(a.contains(&true) && a.contains(&false), "{a:?}");
}

#[tokio::test]
async fn timeouts_are_transient_and_a_lost_create_is_flagged() {
    let sim = start(SimConfig::default()).await;
    let mut settings = sim.aurora_settings();
    settings.request_timeout_ms = 300;
    let client = client(settings);
    client.verify_credentials().await.expect("grant");

    sim.update_faults(&FaultsUpdate {
        latency_ms: Some(2_000),
        ..FaultsUpdate::default()
    })
    .expect("faults");
    let err = client
        .find_contact_by_email("a@example.org")
        .await
        .expect_err("timeout");
    assert!(err.is_transient() && !err.is_lost_answer(), "{err:?}");
    assert_eq!(err.status(), None);
    assert!(err.to_string().contains("timed out"), "{err}");

    sim.update_faults(&FaultsUpdate {
        latency_ms: Some(0),
        lost_response_rate: Some(1.0),
        ..FaultsUpdate::default()
    })
    .expect("faults");
    let err = client
        .create_case(&case_body("CRM-5"))
        .await
        .expect_err("lost");
    assert!(err.is_lost_answer() && err.is_transient(), "{err:?}");
    assert_eq!(
        sim.counts().cases,
        1,
        "the case was made although the answer was lost"
    );

    // The duplicate check: the case is found by its reference, so it is not sent again.
    sim.update_faults(&FaultsUpdate {
        lost_response_rate: Some(0.0),
        ..FaultsUpdate::default()
    })
    .expect("faults");
    assert!(client.can_lookup_by_reference());
    let found = client
        .find_case_by_reference("CRM-5")
        .await
        .expect("lookup");
    assert_eq!(found.as_deref(), Some("100001"));
    assert_eq!(
        client
            .find_case_by_reference("CRM-404")
            .await
            .expect("lookup"),
        None
    );
    // Sending it again regardless makes a duplicate, which the simulator counts.
    client
        .create_case(&case_body("CRM-5"))
        .await
        .expect("second create");
    let counts = sim.counts();
    assert_eq!(
        (counts.cases, counts.duplicates, counts.lost_answers),
        (2, 1, 1)
    );
}

#[tokio::test]
async fn refused_connections_are_transient() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let base = format!("http://127.0.0.1:{port}");
    let client = client(AuroraSettings::new(&base, &base, "c", "s", "u", "p"));
    let err = client.verify_credentials().await.expect_err("refused");
    assert!(err.is_transient(), "{err:?}");
}

#[tokio::test]
async fn the_system_code_goes_where_configured() {
    let sim = start(SimConfig {
        system_code: Some("HW01".into()),
        ..SimConfig::default()
    })
    .await;
    for placement in [
        SystemCodeIn::Header,
        SystemCodeIn::Query,
        SystemCodeIn::Path,
    ] {
        let mut settings = sim.aurora_settings();
        settings.system_code_in = placement;
        let client = client(settings);
        client
            .find_contact_by_email("a@example.org")
            .await
            .unwrap_or_else(|e| panic!("{placement:?}: {e}"));
    }
    let mut settings = sim.aurora_settings();
    settings.system_code_in = SystemCodeIn::None;
    let err = client(settings)
        .find_contact_by_email("a@example.org")
        .await
        .expect_err("no code");
    assert!(err.is_validation());
}

#[tokio::test]
async fn a_blob_listing_of_many_pages_is_read_whole() {
    let sim = start(SimConfig::with_schema(&schema())).await;
    let client = client(sim.aurora_settings());
    let case_number = client.create_case(&case_body("CRM-6")).await.expect("case");
    let triggers = [
        "CS_INSPECTION_PROMPTED",
        "CS_CHANGE_QUEUE",
        "CS_RE_QUEUE",
        "CS_CLEAR_CASE",
    ];
    let mut written = Vec::new();
    // Two in summer (BST), three in winter (GMT), a day apart.
    for (i, at) in [
        "2025-07-15T13:30:05.123Z",
        "2025-07-15T13:31:00.5Z",
        "2025-12-02T09:46:56.845Z",
        "2025-12-02T10:00:00Z",
        "2025-12-03T08:00:00Z",
    ]
    .iter()
    .enumerate()
    {
        let name = sim
            .trigger(TriggerRequest {
                case_number: case_number.clone(),
                trigger: triggers[i % triggers.len()].into(),
                at: Some(at.to_string()),
                ..TriggerRequest::default()
            })
            .expect("trigger");
        written.push(name);
    }
    // One more through the admin endpoint, with message fields.
    let answer: Value = reqwest::Client::new()
        .post(format!("{}/admin/trigger", sim.base_url))
        .json(&json!({
            "caseNumber": case_number,
            "trigger": "CS_CLEAR_CASE",
            "at": "2025-12-02T11:00:00Z",
            "message": {"ClearanceReasonCode": "DR02", "ClearanceReasonPortalText": "Repaired.\\nThank you."}
        }))
        .send()
        .await
        .expect("admin trigger")
        .json()
        .await
        .expect("json");
    let cleared = answer["name"].as_str().expect("name").to_owned();
    assert_eq!(cleared, "20251202_110000000_6_CS_CLEAR_CASE.json");
    written.push(cleared.clone());
    sim.put_blob("readme.txt", b"not a snapshot".to_vec());

    let container = BlobContainer::new(&sim.blob_settings()).expect("container");
    let before = sim.counts().calls.get("list_blobs").copied().unwrap_or(0);
    let mut all = container.list(None).await.expect("listing");
    assert_eq!(
        sim.counts().calls["list_blobs"] - before,
        4,
        "7 blobs, 2 per page"
    );
    all.sort();
    let mut expected = written.clone();
    expected.push("readme.txt".into());
    expected.sort();
    assert_eq!(all, expected);

    // Names carry UK local time: BST in July, GMT in December.
    assert_eq!(
        written[0],
        "20250715_143005123_1_CS_INSPECTION_PROMPTED.json"
    );
    let summer = parse_blob_name(&written[0]).expect("name");
    assert_eq!(summer.time, "2025-07-15T13:30:05.123Z".parse().expect("ts"));
    let winter = parse_blob_name(&written[2]).expect("name");
    assert_eq!(winter.local.hour(), 9);

    let day = day_prefix(local_time("2025-12-02T12:00:00Z".parse().expect("ts")).date());
    let december = container.list(Some(&day)).await.expect("prefix listing");
    assert_eq!(december.len(), 3);

    let bytes = container.fetch(&cleared).await.expect("fetch");
    let snapshot = Snapshot::parse_named(&cleared, &bytes).expect("snapshot");
    assert_eq!(snapshot.case_number, case_number);
    assert_eq!(snapshot.trigger_type.as_deref(), Some("CS_CLEAR_CASE"));
    assert_eq!(snapshot.clearance_reason_code().as_deref(), Some("DR02"));
    assert_eq!(
        snapshot
            .text("Message.ClearanceReasonPortalText")
            .as_deref(),
        Some("Repaired.\nThank you.")
    );
    assert_eq!(
        snapshot.text("Message.CaseTypeCode").as_deref(),
        Some("POTHOLE")
    );
    assert_eq!(
        snapshot.text("Message.UserDefinedFields.0.Code").as_deref(),
        Some("DEPTH")
    );
    assert_eq!(
        snapshot.date,
        Some("2025-12-02T11:00:00Z".parse().expect("ts"))
    );

    let mut bad = sim.blob_settings();
    bad.sas = "sv=2021-08-06&sig=forged".into();
    let err = BlobContainer::new(&bad)
        .expect("container")
        .list(None)
        .await
        .expect_err("forged");
    assert!(err.is_authentication(), "{err:?}");
    assert!(!format!("{err} {bad:?}").contains("forged"));
}

#[tokio::test]
async fn faults_change_at_run_time_through_the_admin_endpoint() {
    let sim = start(SimConfig::default()).await;
    let http = reqwest::Client::new();
    let faults: Value = http
        .put(format!("{}/admin/faults", sim.base_url))
        .json(&json!({"blob_page_size": 5, "failure_rate": 0.25}))
        .send()
        .await
        .expect("put faults")
        .json()
        .await
        .expect("json");
    assert_eq!(faults["blob_page_size"], 5);
    assert_eq!(faults["failure_rate"], 0.25);
    assert_eq!(sim.faults().blob_page_size, 5);
    let status = http
        .put(format!("{}/admin/faults", sim.base_url))
        .json(&json!({"failure_rate": 2.0}))
        .send()
        .await
        .expect("put faults")
        .status();
    assert_eq!(status.as_u16(), 400);
    assert_eq!(sim.faults().failure_rate, 0.25);
    let counts: Value = http
        .get(format!("{}/admin/counts", sim.base_url))
        .send()
        .await
        .expect("counts")
        .json()
        .await
        .expect("json");
    assert_eq!(counts["cases"], 0);
    sim.shutdown().await;
}

#[test]
fn debug_of_settings_shows_no_secret() {
    let mut settings = AuroraSettings::new(
        "https://identity.example",
        "https://cases.example",
        "client",
        "top-secret-client-value",
        "user",
        "top-secret-password",
    );
    settings.system_code = Some("HW".into());
    let client = AuroraClient::new(settings.clone()).expect("client");
    let shown = format!(
        "{settings:?} {settings:#?} {client:?} {:?}",
        settings.redacted()
    );
    assert!(!shown.contains("top-secret"), "{shown}");
    let as_toml = toml::to_string(&settings.redacted()).expect("toml");
    assert!(!as_toml.contains("top-secret"), "{as_toml}");
}
