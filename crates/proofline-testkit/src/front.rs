//! A bearer-token server and an auth front for the test registry: the front answers `401` with
//! `WWW-Authenticate: Bearer realm=…,service=…,scope=…` until a request carries a token the
//! token server issued for that scope, then forwards it to the real registry.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, LOCATION, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::json;

/// The `service` the token server issues tokens for.
pub const SERVICE: &str = "proofline-testkit";

/// What a client asked the token server for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    pub service: Option<String>,
    /// The `scope` parameters, as sent.
    pub scopes: Vec<String>,
    /// The Basic username presented, if any (never the password).
    pub user: Option<String>,
    /// Whether the Basic credentials were right.
    pub authenticated: bool,
}

struct State {
    user: String,
    pass: String,
    upstream: String,
    front: String,
    realm: String,
    /// token -> granted `repository:<name>:<action>` entries.
    tokens: BTreeMap<String, BTreeSet<String>>,
    requests: Vec<TokenRequest>,
    counter: u64,
}

/// The token server and the front, on their own runtime thread; stopped on drop.
#[derive(Debug)]
pub(crate) struct TokenFront {
    host: String,
    state: Arc<Mutex<State>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("front", &self.front)
            .finish_non_exhaustive()
    }
}

impl TokenFront {
    pub fn start(upstream: &str, user: &str, pass: &str) -> Self {
        let token_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let front_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        token_listener.set_nonblocking(true).unwrap();
        front_listener.set_nonblocking(true).unwrap();
        let token_addr = token_listener.local_addr().unwrap();
        let front_addr = front_listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            user: user.to_string(),
            pass: pass.to_string(),
            upstream: upstream.to_string(),
            front: front_addr.to_string(),
            realm: format!("http://{token_addr}/token"),
            tokens: BTreeMap::new(),
            requests: Vec::new(),
            counter: 0,
        }));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let st = state.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let tokens = tokio::net::TcpListener::from_std(token_listener).unwrap();
                let front = tokio::net::TcpListener::from_std(front_listener).unwrap();
                let client = reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .unwrap();
                let serve_tokens = serve(tokens, st.clone(), None);
                let serve_front = serve(front, st, Some(client));
                tokio::select! {
                    _ = serve_tokens => {}
                    _ = serve_front => {}
                    _ = stopped => {}
                }
            });
        });
        Self {
            host: front_addr.to_string(),
            state,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn requests(&self) -> Vec<TokenRequest> {
        self.state.lock().unwrap().requests.clone()
    }
}

impl Drop for TokenFront {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Accepts connections forever; `client` set = the front, unset = the token server.
async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<Mutex<State>>,
    client: Option<reqwest::Client>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let state = state.clone();
        let client = client.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                let state = state.clone();
                let client = client.clone();
                async move {
                    Ok::<_, std::convert::Infallible>(match client {
                        Some(c) => front(req, &state, &c).await,
                        None => token(req, &state).await,
                    })
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

fn respond(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// `GET /token?service=&scope=` with optional Basic credentials, or `POST` of an OAuth2
/// refresh-token grant whose `refresh_token` is the password (an identity token).
async fn token(req: Request<Incoming>, state: &Mutex<State>) -> Response<Full<Bytes>> {
    let query = req.uri().query().unwrap_or("").to_string();
    let is_post = req.method() == Method::POST;
    let (parts, body) = req.into_parts();
    let form = if is_post {
        body.collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default()
    } else {
        Bytes::new()
    };
    let source = if is_post {
        form.to_vec()
    } else {
        query.into_bytes()
    };
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&source).into_owned().collect();
    let refresh = pairs
        .iter()
        .find(|(k, _)| k == "refresh_token")
        .map(|(_, v)| v.clone());
    let service = pairs
        .iter()
        .find(|(k, _)| k == "service")
        .map(|(_, v)| v.clone());
    let scopes: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "scope")
        .flat_map(|(_, v)| {
            if is_post {
                v.split(' ').map(str::to_string).collect::<Vec<_>>()
            } else {
                vec![v.clone()]
            }
        })
        .collect();
    let basic = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            s.split_once(':')
                .map(|(u, p)| (u.to_string(), p.to_string()))
        });
    let mut st = state.lock().unwrap();
    let authenticated = basic
        .as_ref()
        .is_some_and(|(u, p)| *u == st.user && *p == st.pass)
        || refresh.as_ref().is_some_and(|r| *r == st.pass);
    st.requests.push(TokenRequest {
        service: service.clone(),
        scopes: scopes.clone(),
        user: basic.as_ref().map(|(u, _)| u.clone()),
        authenticated,
    });
    if (basic.is_some() || refresh.is_some()) && !authenticated {
        let body = json!({ "errors": [{ "code": "UNAUTHORIZED", "message": "invalid username or password" }] });
        return respond(StatusCode::UNAUTHORIZED, serde_json::to_vec(&body).unwrap());
    }
    let mut granted = BTreeSet::new();
    if authenticated && service.as_deref() == Some(SERVICE) {
        for scope in &scopes {
            for one in scope.split(' ') {
                if let Some((prefix, actions)) = one.rsplit_once(':') {
                    for a in actions.split(',') {
                        granted.insert(format!("{prefix}:{a}"));
                    }
                }
            }
        }
    }
    st.counter += 1;
    let token = format!("testkit-token-{}-{}", st.counter, std::process::id());
    st.tokens.insert(token.clone(), granted);
    // Answer the OAuth2 way (`access_token`) to POSTs and the Docker way (`token`) to GETs.
    let body = if is_post {
        json!({ "access_token": token, "expires_in": 300 })
    } else {
        json!({ "token": token, "expires_in": 300 })
    };
    respond(StatusCode::OK, serde_json::to_vec(&body).unwrap())
}

/// The repository a `/v2/<name>/…` path names, and the actions the request needs.
fn needed(method: &Method, path: &str, query: &str) -> Vec<String> {
    let Some(rest) = path.strip_prefix("/v2/") else {
        return Vec::new();
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let Some(pos) = parts
        .iter()
        .position(|p| matches!(*p, "manifests" | "blobs" | "tags" | "referrers"))
    else {
        return Vec::new();
    };
    let name = parts[..pos].join("/");
    let action = if matches!(*method, Method::GET | Method::HEAD) {
        "pull"
    } else {
        "push"
    };
    let mut out = vec![format!("repository:{name}:{action}")];
    if action == "push" {
        out.push(format!("repository:{name}:pull"));
    }
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if k == "from" {
            out.push(format!("repository:{v}:pull"));
        }
    }
    out
}

async fn front(
    req: Request<Incoming>,
    state: &Mutex<State>,
    client: &reqwest::Client,
) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let need = needed(req.method(), &path, &query);
    let bearer = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let (allowed, realm, upstream, front_host) = {
        let st = state.lock().unwrap();
        let granted = bearer.as_ref().and_then(|t| st.tokens.get(t));
        let allowed = granted.is_some_and(|g| need.iter().all(|n| g.contains(n)));
        (
            allowed,
            st.realm.clone(),
            st.upstream.clone(),
            st.front.clone(),
        )
    };
    if !allowed {
        let scope = match need.first().and_then(|n| n.rsplit_once(':')) {
            Some((prefix, "push")) => format!("{prefix}:pull,push"),
            Some((prefix, _)) => format!("{prefix}:pull"),
            None => String::new(),
        };
        let mut challenge = format!("Bearer realm=\"{realm}\",service=\"{SERVICE}\"");
        if !scope.is_empty() {
            challenge.push_str(&format!(",scope=\"{scope}\""));
        }
        if bearer.is_some() {
            challenge.push_str(",error=\"insufficient_scope\"");
        }
        let body =
            json!({ "errors": [{ "code": "UNAUTHORIZED", "message": "authentication required" }] });
        let mut r = respond(StatusCode::UNAUTHORIZED, serde_json::to_vec(&body).unwrap());
        r.headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_str(&challenge).unwrap());
        return r;
    }
    forward(req, client, &upstream, &front_host).await
}

async fn forward(
    req: Request<Incoming>,
    client: &reqwest::Client,
    upstream: &str,
    front_host: &str,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let target = format!(
        "http://{upstream}{}",
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mut headers = reqwest::header::HeaderMap::new();
    for (k, v) in &parts.headers {
        if k != AUTHORIZATION && k != hyper::header::HOST && k != hyper::header::CONNECTION {
            headers.append(k.clone(), v.clone());
        }
    }
    headers.insert(
        "x-forwarded-host",
        HeaderValue::from_str(front_host).unwrap(),
    );
    headers.insert("x-forwarded-proto", HeaderValue::from_static("http"));
    let method = parts.method.clone();
    let answer = match client
        .request(method.clone(), &target)
        .headers(headers)
        .body(body)
        .send()
        .await
    {
        Ok(a) => a,
        Err(e) => return respond(StatusCode::BAD_GATEWAY, e.to_string().into_bytes()),
    };
    let status = answer.status();
    let answer_headers = answer.headers().clone();
    let bytes = answer.bytes().await.unwrap_or_default();
    let mut r = Response::new(Full::new(bytes));
    *r.status_mut() = status;
    for (k, v) in &answer_headers {
        if k == hyper::header::TRANSFER_ENCODING || k == hyper::header::CONNECTION {
            continue;
        }
        if k == LOCATION {
            let rewritten = v.to_str().unwrap_or("").replace(
                &format!("http://{upstream}"),
                &format!("http://{front_host}"),
            );
            r.headers_mut()
                .append(k.clone(), HeaderValue::from_str(&rewritten).unwrap());
        } else {
            r.headers_mut().append(k.clone(), v.clone());
        }
    }
    r
}
