//! The sample payloads in `events/zoom/` stay consistent with the protocol reference and
//! with what the simulator sends.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;
use zoom_sim::{RecordingSpec, ZoomSim, test_vector};

fn sample_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/zoom")
        .join(name)
}

fn sample(name: &str) -> Value {
    let text = std::fs::read_to_string(sample_path(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Every key path in a JSON value (array items merged).
fn key_paths(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let p = format!("{prefix}.{k}");
                out.insert(p.clone());
                key_paths(v, &p, out);
            }
        }
        Value::Array(a) => {
            for v in a {
                key_paths(v, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn url_validation_sample_is_the_test_vector() {
    let bytes = std::fs::read(sample_path("endpoint.url_validation.json")).unwrap();
    assert_eq!(bytes, test_vector::BODY.as_bytes());
    assert_eq!(
        zoom_sim::sign(test_vector::SECRET, test_vector::TIMESTAMP, &bytes),
        test_vector::SIGNATURE
    );
}

#[test]
fn recording_samples_have_the_documented_shape() {
    let completed = sample("recording.completed.json");
    let o = &completed["payload"]["object"];
    let uuid = o["uuid"].as_str().unwrap();
    assert!(
        uuid.starts_with('/') && uuid.contains("//") && uuid.contains('+') && uuid.contains('=')
    );
    let files = o["recording_files"].as_array().unwrap();
    assert_eq!(o["recording_count"].as_u64().unwrap() as usize, files.len());
    let total: u64 = files.iter().map(|f| f["file_size"].as_u64().unwrap()).sum();
    assert_eq!(o["total_size"].as_u64(), Some(total));
    let starts: BTreeSet<_> = files
        .iter()
        .map(|f| f["recording_start"].as_str().unwrap())
        .collect();
    assert_eq!(starts.len(), 2, "two segments");
    for t in [
        "gallery_view",
        "shared_screen_with_speaker_view",
        "audio_only",
        "chat_file",
        "timeline",
    ] {
        assert!(files.iter().any(|f| f["recording_type"] == t), "{t}");
    }
    for f in files {
        assert_eq!(f["meeting_id"], uuid);
        assert!(
            f["download_url"]
                .as_str()
                .unwrap()
                .starts_with("https://example.zoom.us/rec/download/")
        );
    }
    assert!(zoom_sim::jwt_exp(completed["download_token"].as_str().unwrap()).is_some());

    let transcript = sample("recording.transcript_completed.json");
    assert_eq!(transcript["payload"]["object"]["uuid"], uuid);
    let tf = transcript["payload"]["object"]["recording_files"]
        .as_array()
        .unwrap();
    assert_eq!(tf.len(), 1);
    assert_eq!(tf[0]["file_type"], "TRANSCRIPT");
    assert_ne!(transcript["download_token"], completed["download_token"]);

    assert_eq!(
        sample("recording.completed.webinar.json")["payload"]["object"]["type"],
        5
    );
    let unknown = sample("recording.completed.unknown-file-type.json");
    let types: Vec<_> = unknown["payload"]["object"]["recording_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file_type"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        types.iter().any(|t| t == "SOMETHING_NEW") && types.iter().any(|t| t == "AIC_CONVERSATION")
    );
    assert_eq!(sample("meeting.started.json")["event"], "meeting.started");
}

#[tokio::test]
async fn simulator_bodies_have_the_same_keys_as_the_samples() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = sim.add_recording(RecordingSpec::realistic("keys", 4096));
    for (name, body) in [
        ("recording.completed.json", rec.recording_completed_body()),
        (
            "recording.transcript_completed.json",
            rec.transcript_completed_body(),
        ),
    ] {
        let (mut want, mut got) = (BTreeSet::new(), BTreeSet::new());
        key_paths(&sample(name), "", &mut want);
        key_paths(&serde_json::from_str(&body).unwrap(), "", &mut got);
        assert_eq!(want, got, "{name}");
    }
    sim.shutdown().await;
}
