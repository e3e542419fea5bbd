//! User accounts, for admins: who may sign in, with which role.

mod create;
mod row;
mod rules;

use crate::api::ApiError;
use crate::app::Ctx;
use crate::components::{Empty, ErrorNotice, Loading, Permitted};
use coordinator_api::users::{UpdateUserRequest, User};
use coordinator_api::{Permission, Role, UserId};
use create::CreateUserForm;
use leptos::prelude::*;
use row::UserRow;

/// One change to one account, with the sentence to show once it is made.
#[derive(Debug, Clone)]
pub(crate) struct UserChange {
    pub id: UserId,
    pub username: String,
    pub request: UpdateUserRequest,
    pub done: String,
}

/// Every change on the page goes through one action: rows are rebuilt when the list reloads,
/// and the outcome has to outlive the row it was started from.
pub(crate) type Changes = Action<UserChange, Result<String, ApiError>>;

pub(crate) type UserList = LocalResource<Result<Vec<User>, ApiError>>;

#[component]
pub fn UsersPage() -> impl IntoView {
    view! {
        <Permitted permission=Permission::ManageUsers heading="Users" what="manage users">
            <h1>"Users"</h1>
            <UserAdministration/>
        </Permitted>
    }
}

/// What rows are rebuilt for: who exists, with which role, and whether they may sign in.
fn accounts_shown(list: &Option<Vec<User>>) -> Option<Vec<(UserId, &str, Role, bool)>> {
    list.as_ref().map(|users| {
        users
            .iter()
            .map(|u| (u.id, u.username.as_str(), u.role, u.disabled))
            .collect()
    })
}

/// Only mounted for admins, so nobody else sends a request that would be refused.
#[component]
fn UserAdministration() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let users: UserList = LocalResource::new(move || {
        // Changes made elsewhere (another admin, the `coordinator user` commands) arrive as
        // audit rows about accounts.
        ctx.live.accounts_revision();
        let api = ctx.api();
        async move { api.users().await.map(|list| list.users) }
    });
    // A reload that brings the same accounts leaves the rows, and whatever is being typed in
    // them, as they are: only what an admin changes counts, not sign-in or change times.
    let listed = Memo::new_with_compare(
        move |_| users.with(|r| r.as_ref().and_then(|r| r.clone().ok())),
        |old, new| old.map(accounts_shown) != new.map(accounts_shown),
    );
    let me = move || ctx.session.with(|s| s.as_ref().map(|s| s.user.id));
    let changes: Changes = Action::new_local(move |change: &UserChange| {
        let change = change.clone();
        let api = ctx.api();
        async move {
            match api.update_user(change.id, &change.request).await {
                Ok(_) => {
                    users.refetch();
                    Ok(change.done)
                }
                Err(error) => Err(ApiError {
                    message: format!("{} was not changed: {}", change.username, error.message),
                    ..error
                }),
            }
        }
    });
    view! {
        <section class="card stack" aria-labelledby="accounts-heading">
            <h2 id="accounts-heading">"Accounts"</h2>
            <ChangeOutcome changes/>
            <Transition fallback=Loading>
                {move || users.with(|r| r.as_ref().and_then(|r| r.as_ref().err()).cloned())
                    .map(|error| view! { <ErrorNotice error/> })}
                {move || listed.get().map(|list| if list.is_empty() {
                    view! { <Empty text="No user accounts exist yet."/> }.into_any()
                } else {
                    view! { <UserTable users=list me=me() changes/> }.into_any()
                })}
            </Transition>
        </section>
        <section class="card stack" aria-labelledby="create-user-heading">
            <h2 id="create-user-heading">"Create a user"</h2>
            <CreateUserForm users/>
        </section>
    }
}

#[component]
fn ChangeOutcome(changes: Changes) -> impl IntoView {
    move || {
        changes.value().get().map(|result| match result {
            Ok(done) => view! { <p class="notice ok" role="status">{done}</p> }.into_any(),
            Err(error) => view! { <ErrorNotice error/> }.into_any(),
        })
    }
}

#[component]
fn UserTable(users: Vec<User>, me: Option<UserId>, changes: Changes) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table data-test="users">
                <thead>
                    <tr>
                        <th>"Username"</th>
                        <th>"Role"</th>
                        <th>"Disabled"</th>
                        <th>"Created"</th>
                        <th>"Last sign-in"</th>
                        <th><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {users.into_iter().map(|user| view! { <UserRow user me changes/> }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
