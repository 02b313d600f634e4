//! Many signed packages through gateways that are killed meanwhile: a client that resubmits
//! whatever got no answer (to the next gateway when there are several), and the checks that
//! every accepted package reached each recipient once after de-duplication by id.
#![allow(dead_code)]

use super::edoc::{document, document_id, sign_as, PushReceiver};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `(DocumentId, signed package)` from `from` to `to`, numbered `0/<tag>` … `n-1/<tag>`.
pub fn signed_packages(pki: &Path, member: &str, from: &str, to: &[&str], tag: &str, n: usize) -> Vec<(String, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let number = format!("{i}/{tag}");
            let doc = document(from, to, &number, &format!("Gói số {i}"));
            (document_id(from, &number), sign_as(pki, member, &doc))
        })
        .collect()
}

/// A client over HTTP/1.1 with a 20 s timeout, presenting `pki/members/<member>`.
pub fn patient_client(pki: &Path, member: &str) -> reqwest::Client {
    let cfg = super::client_config(pki, Some(pki.join("members").join(member)), &[b"http/1.1"]);
    reqwest::Client::builder()
        .tls_backend_preconfigured(cfg)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// Senders working through the packages, each until some gateway answers 200/202.
pub struct Submission {
    packages: Arc<Vec<(String, Vec<u8>)>>,
    next: Arc<AtomicUsize>,
    /// DocumentId → every id a gateway answered with (must be exactly one).
    answers: Arc<Mutex<HashMap<String, BTreeSet<i64>>>>,
    /// Gateway (index in `urls`) → packages it answered.
    answered_by: Arc<Mutex<Vec<usize>>>,
    resubmissions: Arc<AtomicUsize>,
    senders: Vec<tokio::task::JoinHandle<()>>,
}

/// What the client got.
pub struct Answers {
    /// Package id → DocumentId; every package answered with one id, every id for one package.
    pub accepted: BTreeMap<i64, String>,
    pub answered_by: Vec<usize>,
    pub resubmissions: usize,
}

impl Submission {
    /// `senders` concurrent senders POSTing `packages` to `urls` (…/v1/edocs), spread over them;
    /// a sender whose request fails or gets 5xx resubmits to the next one.
    pub fn start(client: reqwest::Client, urls: Vec<String>, packages: Vec<(String, Vec<u8>)>, senders: usize) -> Submission {
        let mut s = Submission {
            packages: Arc::new(packages),
            next: Default::default(),
            answers: Default::default(),
            answered_by: Arc::new(Mutex::new(vec![0; urls.len()])),
            resubmissions: Default::default(),
            senders: Vec::new(),
        };
        let urls = Arc::new(urls);
        for k in 0..senders {
            let (c, urls, packages, next, answers, by, resub) = (
                client.clone(),
                urls.clone(),
                s.packages.clone(),
                s.next.clone(),
                s.answers.clone(),
                s.answered_by.clone(),
                s.resubmissions.clone(),
            );
            s.senders.push(tokio::spawn(async move {
                let mut turn = k;
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= packages.len() {
                        break;
                    }
                    let (doc_id, body) = &packages[i];
                    let mut tries = 0;
                    loop {
                        tries += 1;
                        assert!(tries < 500, "package {i} never answered");
                        turn = (turn + 1) % urls.len();
                        let r = c
                            .post(&urls[turn])
                            .header("content-type", "application/xml")
                            .body(body.clone())
                            .send()
                            .await;
                        match r {
                            Ok(r) if r.status() == 202 || r.status() == 200 => {
                                // Cut off mid-answer: resubmit.
                                if let Ok(v) = r.json::<serde_json::Value>().await {
                                    let id = v["id"].as_i64().unwrap();
                                    answers.lock().unwrap().entry(doc_id.clone()).or_default().insert(id);
                                    by.lock().unwrap()[turn] += 1;
                                    break;
                                }
                            }
                            Ok(r) if r.status().is_server_error() => {}
                            Ok(r) => panic!("package {i}: unexpected {}", r.status()),
                            Err(_) => {}
                        }
                        resub.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }));
        }
        s
    }

    /// How many packages the senders have taken up so far.
    pub fn taken(&self) -> usize {
        self.next.load(Ordering::SeqCst).min(self.packages.len())
    }

    pub fn total(&self) -> usize {
        self.packages.len()
    }

    /// Wait for every package to be answered; check one id per package and per id.
    pub async fn finish(self) -> Answers {
        for s in self.senders {
            s.await.unwrap();
        }
        let answers = self.answers.lock().unwrap().clone();
        assert_eq!(answers.len(), self.packages.len());
        let mut accepted = BTreeMap::new();
        for (doc, ids) in &answers {
            assert_eq!(ids.len(), 1, "{doc} got several ids: {ids:?}");
            let id = *ids.iter().next().unwrap();
            assert!(accepted.insert(id, doc.clone()).is_none(), "id {id} answered for two packages");
        }
        Answers {
            accepted,
            answered_by: self.answered_by.lock().unwrap().clone(),
            resubmissions: self.resubmissions.load(Ordering::SeqCst),
        }
    }

    /// The packages, `(DocumentId, signed bytes)`.
    pub fn packages(&self) -> Arc<Vec<(String, Vec<u8>)>> {
        self.packages.clone()
    }
}

/// Page through a pull member's whole inbox at `base` (https://host:port); the package ids in
/// order, after checking each appears once and that they are exactly `accepted`.
pub async fn pull_inbox_once_each(client: &reqwest::Client, base: &str, accepted: &BTreeMap<i64, String>) -> usize {
    let mut inbox: Vec<i64> = Vec::new();
    let mut after = 0;
    loop {
        let v: serde_json::Value = client
            .get(format!("{base}/v1/edocs/inbox?after={after}&limit=500"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = v["items"].as_array().unwrap();
        if items.is_empty() {
            break;
        }
        inbox.extend(items.iter().map(|i| i["id"].as_i64().unwrap()));
        after = v["next_after"].as_i64().unwrap();
    }
    let distinct: BTreeSet<i64> = inbox.iter().copied().collect();
    assert_eq!(inbox.len(), distinct.len(), "duplicate inbox entries");
    assert_eq!(distinct, accepted.keys().copied().collect::<BTreeSet<_>>());
    inbox.len()
}

/// Wait (up to two minutes) until a push receiver has every accepted id; check it got no
/// other and that a sample carries the signed bytes. Returns (pushes, distinct ids).
pub async fn pushed_once_each(receiver: &PushReceiver, accepted: &BTreeMap<i64, String>, packages: &[(String, Vec<u8>)]) -> (usize, usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    let (pushed, distinct) = loop {
        let (pushed, distinct) = {
            let got = receiver.got.lock().unwrap();
            let ids: BTreeSet<i64> = got.iter().map(|(id, _)| id.parse().unwrap()).collect();
            (got.len(), ids)
        };
        if distinct.len() >= accepted.len() || Instant::now() > deadline {
            break (pushed, distinct);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(distinct, accepted.keys().copied().collect::<BTreeSet<_>>());
    let by_doc: HashMap<&String, &Vec<u8>> = packages.iter().map(|(d, b)| (d, b)).collect();
    let got = receiver.got.lock().unwrap();
    for (id, body) in got.iter().take(50) {
        let doc = &accepted[&id.parse::<i64>().unwrap()];
        assert_eq!(&body, by_doc.get(doc).unwrap(), "pushed bytes differ for {doc}");
    }
    (pushed, distinct.len())
}
