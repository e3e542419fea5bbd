//! The application: shared state, the router, and the frame around every page.

use crate::api::{Api, Browser, HttpRequest, HttpResponse, Transport};
use crate::live::{Connection, Live, Tracker};
use crate::pages;
use crate::session::{self, Session};
use coordinator_api::Permission;
use leptos::prelude::*;
use leptos_router::components::{A, Outlet, ParentRoute, Route, Router, Routes};
use leptos_router::hooks::{use_location, use_navigate};
use leptos_router::path;

/// `fetch`, plus one rule: an answer of 401 to a request that carried the session's token
/// means the session is over (expired or revoked), wherever in the dashboard it happened.
#[derive(Clone)]
pub struct Guarded {
    ctx: Ctx,
}

impl Transport for Guarded {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, String> {
        let token = request.bearer.clone();
        let response = Browser.send(request).await?;
        // Only the current session can end this way: a slow answer to a request of an earlier
        // session must not sign out the person who has signed in since.
        let current = self
            .ctx
            .session
            .with_untracked(|s| s.as_ref().map(|s| s.token.clone()));
        if response.status == 401 && token.is_some() && token == current {
            self.ctx.end_session();
        }
        Ok(response)
    }
}

/// What every page reaches with `expect_context::<Ctx>()`.
#[derive(Clone, Copy)]
pub struct Ctx {
    pub session: RwSignal<Option<Session>>,
    pub live: Live,
    /// Set when the person signed out themselves: the next sign-in starts on the overview
    /// rather than on the page they left, which may be someone else's next.
    signed_out: StoredValue<bool>,
}

impl Ctx {
    /// A client carrying the current token (read without tracking: calling it does not make
    /// a view depend on the session).
    pub fn api(&self) -> Api<Guarded> {
        let token = self
            .session
            .with_untracked(|s| s.as_ref().map(|s| s.token.clone()));
        Api::new(Guarded { ctx: *self }, token)
    }

    /// Whether to offer an action. The coordinator checks again on every request.
    pub fn can(&self, permission: Permission) -> bool {
        self.session
            .with(|s| s.as_ref().is_some_and(|s| s.can(permission)))
    }

    pub fn sign_in(&self, session: Session) {
        session::save(&session);
        let (token, expires_at) = (session.token.clone(), session.expires_at);
        let channels = Tracker::channels_for(session.role());
        self.session.set(Some(session));
        let ctx = *self;
        self.live
            .start(token, expires_at, channels, move || ctx.end_session());
    }

    /// Forgets the session everywhere: the live connection, the tab's storage and the
    /// signal every view follows (which sends the reader to sign in).
    fn end_session(&self) {
        self.live.stop();
        session::clear();
        self.session.set(None);
    }

    pub fn sign_out(&self) {
        let api = self.api();
        self.signed_out.set_value(true);
        self.end_session();
        leptos::task::spawn_local(async move {
            // Revokes the token; the page has already forgotten it either way.
            let _ = api.logout().await;
        });
    }
}

#[component]
pub fn App() -> impl IntoView {
    let ctx = Ctx {
        session: RwSignal::new(None),
        live: Live::default(),
        signed_out: StoredValue::new(false),
    };
    if let Some(saved) = session::load() {
        ctx.sign_in(saved);
    }
    provide_context(ctx);
    view! {
        <Router>
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=path!("/login") view=pages::login::LoginPage/>
                <ParentRoute path=path!("") view=Shell>
                    <Route path=path!("") view=pages::overview::OverviewPage/>
                    <ParentRoute path=path!("assessments") view=pages::assessments::AssessmentsSection>
                        <Route path=path!("") view=pages::assessments::AssessmentsPage/>
                        <Route path=path!(":id") view=pages::assessments::AssessmentPage/>
                    </ParentRoute>
                    <ParentRoute path=path!("remediations") view=pages::remediations::RemediationsSection>
                        <Route path=path!("") view=pages::remediations::RemediationsPage/>
                        <Route path=path!(":id") view=pages::remediations::RemediationPage/>
                    </ParentRoute>
                    <Route path=path!("audit") view=pages::audit::AuditPage/>
                    <Route path=path!("system") view=pages::system::SystemPage/>
                    <Route path=path!("servers") view=pages::servers::ServersPage/>
                    <Route path=path!("users") view=pages::users::UsersPage/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    view! {
        <main class="centered">
            <h1>"Page not found"</h1>
            <p>"This address is not a page of the dashboard."</p>
            <A href="/">"Go to the overview"</A>
        </main>
    }
}

/// The frame of every signed-in page. Without a session it sends the reader to sign in and
/// remembers where they were, so they come back to the same page afterwards.
#[component]
fn Shell() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let location = use_location();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if ctx.session.with(Option::is_none) {
            if ctx.signed_out.get_value() {
                ctx.signed_out.set_value(false);
                navigate("/login", Default::default());
                return;
            }
            let search = location.search.get_untracked();
            let path = location.pathname.get_untracked();
            let here = if search.is_empty() {
                path
            } else {
                format!("{path}?{}", search.trim_start_matches('?'))
            };
            let next = js_sys::encode_uri_component(&here);
            navigate(&format!("/login?next={next}"), Default::default());
        }
    });
    let signed_in = move || ctx.session.with(Option::is_some);
    view! {
        <Show when=signed_in>
            <div class="shell">
                <a class="skip" href="#main">"Skip to content"</a>
                <Navigation/>
                <main id="main" tabindex="-1">
                    <Outlet/>
                </main>
            </div>
        </Show>
    }
}

#[component]
fn Navigation() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let user = move || {
        ctx.session.with(|s| {
            s.as_ref()
                .map(|s| (s.user.username.clone(), s.role().to_string()))
        })
    };
    let connection = ctx.live.connection;
    let state_class = move || match connection.get() {
        Connection::Live => "conn conn-live",
        Connection::Connecting | Connection::Reconnecting => "conn conn-retry",
        Connection::Off => "conn conn-off",
    };
    view! {
        <header class="topbar">
            <a href="/" class="brand">"MCP Coordinator"</a>
            <nav aria-label="Main">
                <A href="/" exact=true>"Overview"</A>
                <Show when=move || ctx.can(Permission::ViewAssessments)>
                    <A href="/assessments">"Assessments"</A>
                </Show>
                <Show when=move || ctx.can(Permission::ViewRemediations)>
                    <A href="/remediations">"Remediations"</A>
                </Show>
                <A href="/audit">"Audit"</A>
                <A href="/system">"System"</A>
                <A href="/servers">"Servers"</A>
                <Show when=move || ctx.can(Permission::ManageUsers)>
                    <A href="/users">"Users"</A>
                </Show>
            </nav>
            <div class="who">
                <span class=state_class role="status" aria-live="polite" data-test="connection">
                    {move || connection.get().label()}
                </span>
                {move || user().map(|(name, role)| view! {
                    <span class="user">{name}" "<span class="role">{role}</span></span>
                })}
                <button class="link" on:click=move |_| ctx.sign_out()>"Sign out"</button>
            </div>
        </header>
    }
}

pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}
