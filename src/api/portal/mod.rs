//! The Admin Portal's HTTP transport (`Function::Portal`, public `/portal/…` routes): a setup
//! link's customer IT admin picks their IdP, follows its steps with this directory's values,
//! reveals a token once and watches the directory turn Linked. Each request is parsed once
//! (`request`), checked (session, CSRF), served by one `service::portal` call and rendered
//! (`pages`, compile-time templates that escape every value).
//!
//! Safety rules on every answer (`secure`): a Content-Security-Policy without inline script or
//! style and without third-party origins (but the brand's logo), `frame-ancestors` = the link's
//! `embed_origin` or nothing, `Referrer-Policy: no-referrer`, `nosniff`, and `no-store` on every
//! page (they show secrets or a directory's people). State changes are POST forms carrying the
//! session's CSRF token, and a cross-site `Origin` or `Sec-Fetch-Site` is refused as well.
//!
//! DynamoDB round trips per page (budgets in `tests/it/portal.rs`): every page reads its session
//! (GetItem) and the directory (GetItem); the set-up page and the status poll then read the
//! directory's credentials (one Query of the tokens table's index), its counters (Query) and the
//! first users (Query): 5. A Users or Groups page: the name guards (Query), the records
//! (BatchGetItem) and the counters: 5. The Roles page: the map, its groups' names and a page of
//! groups by name: 6 (`service::portal_roles`). The Attributes page: the directory with its
//! settings (one BatchGetItem): 2 (`service::portal_attributes`). The role catalogue behind the
//! Roles tab and users' role names, and the custom attribute keys behind the Attributes tab, are
//! the process's copies (`roles::cached_catalogue`, `custom_attributes::cached_catalogue`): no page
//! pays a read for them while warm. No page scans, whatever the directory's size.

mod assets;
pub mod brand;
mod pages;
mod request;

use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::json;

use self::brand::Brand;
use self::pages::{Frame, Notice, Outcome, Revealed, Search};
use self::request::{ListParams, Parsed, PortalRequest, RolesAction, RolesForm, Unparsed, COOKIE};
use super::request::public_base;
use super::web::attributes::{MappingAction, MappingForm, MappingOutcome};
use super::web::{self, html, json_answer};
use super::App;
use crate::roles::RoleCatalogue;
use crate::service::management::ManagementError;
use crate::service::portal::{self, PortalError, PortalSession};
use crate::service::{
    custom_attributes, portal_attributes, portal_roles, roles, PublicUrl, Service,
};

/// Users or groups per list page.
const PAGE_SIZE: usize = 50;

/// What one request needs to render its answer.
struct Ctx<'a> {
    svc: &'a Service,
    base: PublicUrl,
    /// The path the portal's routes start with.
    root: String,
    brand: &'static Brand,
    /// `https` in AWS: cookies are `Secure` there.
    secure: bool,
}

impl Ctx<'_> {
    fn frame<'s>(
        &'s self,
        session: Option<&'s PortalSession>,
        roles: &'s RoleCatalogue,
        attributes: bool,
    ) -> Frame<'s> {
        Frame {
            root: &self.root,
            brand: self.brand,
            session,
            roles,
            attributes,
        }
    }
}

/// The portal function's entry point (and `scim-local`'s, for `/portal`).
pub async fn handle(app: &App, req: Request) -> Response<Body> {
    let base = PublicUrl::new(&public_base(&req, app.public_url.as_deref(), "/portal"));
    let root = format!(
        "{}/portal",
        url::Url::parse(base.as_str())
            .map(|u| u.path().trim_end_matches('/').to_string())
            .unwrap_or_default()
    );
    let ctx = Ctx {
        svc: &app.service,
        secure: base.as_str().starts_with("https://"),
        base,
        root,
        brand: Brand::get(),
    };
    let parsed = request::parse(&req);
    // The origin allowed to frame this answer: the session's `embed_origin`, once it is read.
    let mut embed = None;
    let mut response = match parsed {
        Ok(p) => match serve(&ctx, &req, p, &mut embed).await {
            Ok(r) => r,
            Err(e) => failure(&ctx, e),
        },
        Err(Unparsed::NotFound) => notice(&ctx, StatusCode::NOT_FOUND, NOT_FOUND),
        Err(Unparsed::Method(allow)) => {
            let mut r = notice(&ctx, StatusCode::METHOD_NOT_ALLOWED, NOT_FOUND);
            r.headers_mut()
                .insert(header::ALLOW, header::HeaderValue::from_static(allow));
            r
        }
        Err(Unparsed::BadForm(why)) => notice(
            &ctx,
            StatusCode::BAD_REQUEST,
            Notice {
                title: "That form could not be read",
                body: why,
            },
        ),
    };
    secure(&mut response, ctx.brand, embed.as_deref());
    tracing::info!(
        function = "portal",
        method = %req.method(),
        // The route only: ids are the session's own, and no secret is ever in a portal path.
        path = %super::request::route_path(&req),
        status = response.status().as_u16(),
        "portal request"
    );
    response
}

async fn serve(
    ctx: &Ctx<'_>,
    req: &Request,
    p: Parsed,
    embed: &mut Option<String>,
) -> Result<Response<Body>, PortalError> {
    use PortalRequest as R;
    match &p.request {
        R::Asset(name) => return Ok(asset(name)),
        R::OpenPage { embed: asked } => {
            // Framable by the origin the link names, if it is one: the page holds nothing but
            // the script that reads the secret from its own fragment, and the pages after it
            // answer with the session's real `embed_origin`.
            *embed = asked
                .as_deref()
                .and_then(crate::service::portal_links::origin);
            return Ok(html(
                StatusCode::OK,
                pages::open_page(&ctx.frame(None, &pages::NO_ROLES, false)),
            ));
        }
        R::Open { secret } => return open(ctx, req, secret).await,
        _ => {}
    }
    let session = match p.cookie.as_deref() {
        Some(c) => portal::session(ctx.svc, c).await?,
        None => return Err(PortalError::SessionEnded),
    };
    *embed = session.embed_origin().map(str::to_string);
    if p.request.changes_state() && !same_origin_form(req, &p, &session, &ctx.base) {
        return Ok(notice(
            ctx,
            StatusCode::FORBIDDEN,
            Notice {
                title: "This form has expired",
                body: "The page was open too long or came from somewhere else. Go back, reload the page and try again.",
            },
        ));
    }
    let s = &session;
    let svc = ctx.svc;
    // The roles show on every page (the Roles tab, users' roles), and whether the application
    // declares custom attributes decides the Attributes tab: this process's copies of both
    // catalogues, no round trip while warm. The status poll renders no page.
    let (catalogue, attributes) = match p.request {
        R::Status => (None, false),
        _ => {
            let (roles, keys) = tokio::try_join!(
                roles::cached_catalogue(svc),
                custom_attributes::cached_catalogue(svc)
            )?;
            (Some(roles), keys.is_declared())
        }
    };
    let frame = ctx.frame(
        Some(s),
        catalogue.as_deref().unwrap_or(&pages::NO_ROLES),
        attributes,
    );
    Ok(match p.request {
        R::Home => {
            let d = portal::directory_view(svc, &ctx.base, s).await?;
            redirect(
                ctx,
                if d.provider.is_some() {
                    "setup"
                } else {
                    "provider"
                },
            )
        }
        R::ChooseProvider => {
            let d = portal::directory_view(svc, &ctx.base, s).await?;
            html(StatusCode::OK, pages::choose_provider(&frame, d.provider))
        }
        R::SetProvider(provider) => {
            portal::choose_provider(svc, s, provider).await?;
            redirect(ctx, "setup")
        }
        R::Setup => setup(ctx, &frame, Revealed::default()).await?,
        R::RevealToken => {
            let token = match portal::reveal_token(svc, s).await {
                Err(PortalError::Management(ManagementError::TooManyTokens(_))) => {
                    return Ok(notice(ctx, StatusCode::CONFLICT, TOO_MANY_TOKENS));
                }
                other => other?,
            };
            let revealed = Revealed {
                token: Some(token),
                client: None,
            };
            setup(ctx, &frame, revealed).await?
        }
        R::CreateClient => {
            let client = match portal::create_client(svc, &ctx.base, s).await {
                Err(PortalError::Management(ManagementError::TooManyClients(_))) => {
                    return Ok(notice(ctx, StatusCode::CONFLICT, TOO_MANY_CLIENTS));
                }
                Err(PortalError::Management(ManagementError::MethodOff(..))) => {
                    return Ok(notice(ctx, StatusCode::CONFLICT, METHOD_OFF));
                }
                other => other?,
            };
            let revealed = Revealed {
                token: None,
                client: Some(client),
            };
            setup(ctx, &frame, revealed).await?
        }
        R::RevokeToken(id) => {
            portal::revoke_token(svc, s, &id).await?;
            redirect(ctx, "credentials")
        }
        R::RevokeClient(id) => {
            portal::revoke_client(svc, s, &id).await?;
            redirect(ctx, "credentials")
        }
        R::Status => {
            let d = portal::directory_view(svc, &ctx.base, s).await?;
            let st = portal::status(svc, d, s).await?;
            let (text, hint) = pages::status_words(st.status);
            let body = json!({
                "status": pages::status_name(st.status),
                "text": text,
                "hint": hint,
                "users": st.users,
                "groups": st.groups,
                "arrivals": st.arrivals,
                "last_error": st.last_error,
                "session_expires_at": st.session_expires_at,
            });
            json_answer(StatusCode::OK, &body)
        }
        R::Users(ListParams { q, after }) => {
            let page = portal::users(svc, s, q.as_deref(), after.as_deref(), PAGE_SIZE).await?;
            let (users, _) = portal::counts(svc, s).await?;
            html(
                StatusCode::OK,
                pages::users(&frame, &page, users, q.as_deref()),
            )
        }
        R::User(id) => {
            let u = portal::user(svc, s, &id).await?;
            html(StatusCode::OK, pages::user(&frame, &u))
        }
        R::Groups(ListParams { q, after }) => {
            let page = portal::groups(svc, s, q.as_deref(), after.as_deref(), PAGE_SIZE).await?;
            let (_, groups) = portal::counts(svc, s).await?;
            html(
                StatusCode::OK,
                pages::groups(&frame, &page, groups, q.as_deref()),
            )
        }
        R::Roles(ListParams { q, after }) => {
            let (q, at) = (q.as_deref(), after.as_deref());
            let v = portal_roles::view(svc, s, None, q, at, PAGE_SIZE).await?;
            let search = Search { q, at, give: None };
            html(
                StatusCode::OK,
                pages::roles(&frame, &v, search, &Outcome::None),
            )
        }
        R::EditRoles(form) => edit_roles(ctx, &frame, s, form).await?,
        R::Attributes => {
            let v = portal_attributes::view(svc, s).await?;
            let page = pages::attributes(&frame, &v, &v.saved.mappings, None, &Default::default());
            html(StatusCode::OK, page)
        }
        R::EditAttributes(form) => edit_attributes(ctx, &frame, s, form).await?,
        R::Credentials => {
            let c = portal::credentials(svc, s).await?;
            let offers = c.provider.is_some_and(|p| p.offers_client_credentials());
            html(StatusCode::OK, pages::credentials(&frame, &c, offers))
        }
        R::Activity { all, after } => {
            // Failures first (the newest 20), then every request; paging continues the latter.
            let failures = if all {
                None
            } else {
                Some(portal::requests(svc, s, true, None, 20).await?)
            };
            let every = portal::requests(svc, s, false, after.as_deref(), PAGE_SIZE).await?;
            let empty = crate::service::request_log::RequestPage {
                data: Vec::new(),
                provider: None,
                list_metadata: crate::service::directory_reads::ListMetadata { after: None },
            };
            let failures = failures.unwrap_or(empty);
            html(
                StatusCode::OK,
                pages::activity(&frame, &failures, &every, all),
            )
        }
        R::Asset(_) | R::OpenPage { .. } | R::Open { .. } => unreachable_route(ctx),
    })
}

fn unreachable_route(ctx: &Ctx<'_>) -> Response<Body> {
    notice(ctx, StatusCode::NOT_FOUND, NOT_FOUND)
}

async fn setup(
    ctx: &Ctx<'_>,
    frame: &Frame<'_>,
    revealed: Revealed,
) -> Result<Response<Body>, PortalError> {
    let s = frame.session.ok_or(PortalError::SessionEnded)?;
    let d = portal::directory_view(ctx.svc, &ctx.base, s).await?;
    let Some(provider) = d.provider else {
        return Ok(redirect(ctx, "provider"));
    };
    let status = portal::status(ctx.svc, d.clone(), s).await?;
    Ok(html(
        StatusCode::OK,
        pages::setup(frame, &d, provider, &status, &revealed),
    ))
}

/// `POST /portal/roles`: the form's draft, edited (an Add, a move, a removal), shown at another
/// page of groups, or saved; then the page again with what happened. A refused save or edit
/// answers 400 with the reason above the unchanged draft.
async fn edit_roles(
    ctx: &Ctx<'_>,
    frame: &Frame<'_>,
    s: &PortalSession,
    form: RolesForm,
) -> Result<Response<Body>, PortalError> {
    let RolesForm {
        mut draft,
        search,
        give,
        action,
    } = form;
    let (status, outcome) = match action {
        RolesAction::Show => (StatusCode::OK, Outcome::None),
        RolesAction::Edit(edit) => match draft.apply(edit) {
            Ok(()) => (StatusCode::OK, Outcome::None),
            Err(why) => (StatusCode::BAD_REQUEST, Outcome::NotChanged(why.0)),
        },
        RolesAction::Save => match portal_roles::save(ctx.svc, s, draft.clone()).await {
            Ok(saved) => (
                StatusCode::OK,
                Outcome::Saved {
                    users_updated: saved.sync.users_updated,
                    pending: saved.sync.state == roles::SyncStatus::Pending,
                },
            ),
            Err(PortalError::Management(ManagementError::InvalidRoles(why))) => {
                (StatusCode::BAD_REQUEST, Outcome::NotSaved(why))
            }
            Err(e) => return Err(e),
        },
    };
    let (q, at) = (search.q.as_deref(), search.after.as_deref());
    let v = portal_roles::view(ctx.svc, s, Some(draft), q, at, PAGE_SIZE).await?;
    let search = Search {
        q,
        at,
        give: give.as_deref(),
    };
    Ok(html(status, pages::roles(frame, &v, search, &outcome)))
}

/// `POST /portal/attributes`: the form's paths previewed (nothing stored) or saved; then the page
/// again with the preview or what happened. Paths the use case refuses answer 400 with the
/// reason above the unchanged form.
async fn edit_attributes(
    ctx: &Ctx<'_>,
    frame: &Frame<'_>,
    s: &PortalSession,
    form: MappingForm,
) -> Result<Response<Body>, PortalError> {
    let MappingForm { mappings, action } = form;
    let refused = |saving, why| {
        let outcome = MappingOutcome::Refused { saving, why };
        (StatusCode::BAD_REQUEST, None, outcome)
    };
    let (status, preview, outcome) = match action {
        MappingAction::Preview => {
            match portal_attributes::preview(ctx.svc, s, mappings.clone()).await {
                Ok(p) => (StatusCode::OK, Some(p), MappingOutcome::None),
                Err(PortalError::Management(ManagementError::InvalidAttributes(why))) => {
                    refused(false, why)
                }
                Err(e) => return Err(e),
            }
        }
        MappingAction::Save => match portal_attributes::save(ctx.svc, s, mappings.clone()).await {
            Ok(_) => (StatusCode::OK, None, MappingOutcome::Saved),
            Err(PortalError::Management(ManagementError::InvalidAttributes(why))) => {
                refused(true, why)
            }
            Err(e) => return Err(e),
        },
    };
    let v = portal_attributes::view(ctx.svc, s).await?;
    // After a save the form shows the paths as saved (canonical form), else as typed.
    let draft = if outcome == MappingOutcome::Saved {
        v.saved.mappings.clone()
    } else {
        mappings
    };
    let page = pages::attributes(frame, &v, &draft, preview.as_ref(), &outcome);
    Ok(html(status, page))
}

/// `POST /portal/open`: the link's secret for a session cookie; answers where to go next.
async fn open(ctx: &Ctx<'_>, req: &Request, secret: &str) -> Result<Response<Body>, PortalError> {
    if !same_origin(req, &ctx.base) {
        return Ok(json_answer(
            StatusCode::FORBIDDEN,
            &json!({"title": "This link must be opened directly", "body": "Open the setup link in your browser's address bar."}),
        ));
    }
    let opened = match portal::open_link(ctx.svc, secret).await {
        Ok(o) => o,
        Err(e @ (PortalError::LinkExpired | PortalError::LinkNotValid)) => {
            let (status, n) = link_notice(&e);
            return Ok(json_answer(
                status,
                &json!({"title": n.title, "body": n.body}),
            ));
        }
        Err(e) => return Err(e),
    };
    let d = portal::directory_view(ctx.svc, &ctx.base, &opened.session).await?;
    let next = if d.provider.is_some() {
        "setup"
    } else {
        "provider"
    };
    let mut r = json_answer(
        StatusCode::OK,
        &json!({"location": format!("{}/{next}", ctx.root)}),
    );
    let max_age = (opened.session.expires_at_millis() - crate::clock::now_millis()).max(0) / 1000;
    // An embedded portal is a third-party frame: its cookie must be `SameSite=None; Secure`,
    // and `Partitioned` (CHIPS) keeps it to this embedding site where third-party cookies are
    // blocked. Chromium treats http://localhost as secure, so this works locally too.
    let site = if opened.session.embed_origin().is_some() {
        "SameSite=None; Secure; Partitioned"
    } else if ctx.secure {
        "SameSite=Lax; Secure"
    } else {
        "SameSite=Lax"
    };
    let cookie = format!(
        "{COOKIE}={}; Path={}; Max-Age={max_age}; HttpOnly; {site}",
        opened.cookie, ctx.root
    );
    if let Ok(v) = header::HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(r)
}

/// A form post of this session from this origin: the CSRF token matches, and the browser's
/// `Origin` / `Sec-Fetch-Site`, when sent, name this site.
fn same_origin_form(req: &Request, p: &Parsed, s: &PortalSession, base: &PublicUrl) -> bool {
    web::csrf_matches(p.csrf.as_deref(), s.csrf()) && same_origin(req, base)
}

/// A request this site's own pages made (`web::from_own_pages`): `Sec-Fetch-Site` is
/// `same-origin` (or `none`: typed by the user), else an `Origin` is the portal's public origin
/// (behind the edge, the CloudFront address `SCIM_PUBLIC_URL` names, not the API's `Host`).
fn same_origin(req: &Request, base: &PublicUrl) -> bool {
    let ours = url::Url::parse(base.as_str()).map(|u| u.origin().ascii_serialization());
    web::from_own_pages(req, &["same-origin", "none"], |o| {
        ours.as_ref().is_ok_and(|ours| ours.eq_ignore_ascii_case(o))
    })
}

const NOT_FOUND: Notice = Notice {
    title: "Page not found",
    body: "There is nothing here. Use the tabs above, or open your setup link again.",
};
const SESSION_ENDED: Notice = Notice {
    title: "Your session has ended",
    body: "For your security, a portal session lasts a few hours. Open the setup link you were sent again, or ask the application's administrator for a new one.",
};
const TOO_MANY_TOKENS: Notice = Notice {
    title: "This directory already has two tokens",
    body: "Revoke the one your IdP no longer uses on the Credentials tab, then generate a new one.",
};
const TOO_MANY_CLIENTS: Notice = Notice {
    title: "This directory already has two OAuth clients",
    body: "Revoke the one your IdP no longer uses on the Credentials tab, then create a new one.",
};
const METHOD_OFF: Notice = Notice {
    title: "OAuth client credentials are turned off",
    body: "The application's administrator has turned off OAuth client credentials for this directory: use a bearer token.",
};

fn link_notice(e: &PortalError) -> (StatusCode, Notice<'static>) {
    match e {
        PortalError::LinkExpired => (
            StatusCode::GONE,
            Notice {
                title: "This setup link has expired",
                body: "Setup links work for a limited time. Ask the application's administrator for a new one.",
            },
        ),
        _ => (
            StatusCode::NOT_FOUND,
            Notice {
                title: "This setup link is not valid",
                body: "It may have been revoked or copied incompletely. Ask the application's administrator for a new one.",
            },
        ),
    }
}

/// Every failure as a page a person can act on; store failures are logged, never shown.
fn failure(ctx: &Ctx<'_>, e: PortalError) -> Response<Body> {
    match e {
        PortalError::SessionEnded => notice(ctx, StatusCode::UNAUTHORIZED, SESSION_ENDED),
        PortalError::NoAttributes => notice(
            ctx,
            StatusCode::NOT_FOUND,
            Notice {
                title: "No attributes to map",
                body:
                    "This application reads no custom attributes, so there is nothing to map here.",
            },
        ),
        PortalError::NoRoles => notice(
            ctx,
            StatusCode::NOT_FOUND,
            Notice {
                title: "No roles to assign",
                body: "This application declares no roles, so there is nothing to choose here.",
            },
        ),
        // A search's cursor that is not of this search (an edited address): start again.
        PortalError::Management(ManagementError::Scim(ref err)) if err.status == 400 => notice(
            ctx,
            StatusCode::BAD_REQUEST,
            Notice {
                title: "That page could not be read",
                body: "Search again from the first page.",
            },
        ),
        PortalError::NotFound | PortalError::Management(ManagementError::NoDirectory(_)) => {
            notice(ctx, StatusCode::NOT_FOUND, NOT_FOUND)
        }
        PortalError::LinkExpired | PortalError::LinkNotValid => {
            let (status, n) = link_notice(&e);
            notice(ctx, status, n)
        }
        PortalError::Management(ManagementError::Unavailable(ref err)) => {
            tracing::warn!(error = %crate::telemetry::chain(err), "portal: store unavailable");
            notice(
                ctx,
                StatusCode::SERVICE_UNAVAILABLE,
                Notice {
                    title: "Busy, try again",
                    body:
                        "The service is busy. Reload the page in a few seconds; nothing was lost.",
                },
            )
        }
        PortalError::Management(err) => {
            tracing::error!(error = %crate::telemetry::chain(&err), "portal request failed");
            notice(
                ctx,
                StatusCode::INTERNAL_SERVER_ERROR,
                Notice {
                    title: "Something went wrong",
                    body: "The request could not be completed. Reload the page; if it persists, tell the application's administrator the time it happened.",
                },
            )
        }
    }
}

fn notice(ctx: &Ctx<'_>, status: StatusCode, n: Notice) -> Response<Body> {
    html(
        status,
        pages::notice(&ctx.frame(None, &pages::NO_ROLES, false), &n),
    )
}

fn redirect(ctx: &Ctx<'_>, to: &str) -> Response<Body> {
    let mut r = Response::new(Body::Empty);
    *r.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = header::HeaderValue::from_str(&format!("{}/{to}", ctx.root)) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

fn asset(name: &str) -> Response<Body> {
    web::asset_answer(assets::get(name))
}

/// The headers every portal answer carries (`web::secure`): the brand's logo origin may serve
/// images, and the session's `embed_origin`, if any, may frame the page.
fn secure(r: &mut Response<Body>, brand: &Brand, embed_origin: Option<&str>) {
    let policy = web::Policy {
        img_origin: brand.logo_origin.as_deref(),
        frame_ancestor: embed_origin,
    };
    web::secure(r.headers_mut(), &policy);
}
