//! One account and what an admin may change about it.

use super::rules::{MIN_PASSWORD_CHARS, may_change_access, password_problem};
use super::{Changes, UserChange};
use crate::components::{Confirmation, Time};
use coordinator_api::users::{UpdateUserRequest, User};
use coordinator_api::{Role, Secret, UserId};
use leptos::html;
use leptos::prelude::*;

/// Who an action is about: enough to address the request and word the messages.
#[derive(Debug, Clone)]
struct Account {
    id: UserId,
    username: String,
}

impl Account {
    fn change(&self, request: UpdateUserRequest, done: String) -> UserChange {
        UserChange {
            id: self.id,
            username: self.username.clone(),
            request,
            done,
        }
    }
}

#[component]
pub fn UserRow(user: User, me: Option<UserId>, changes: Changes) -> impl IntoView {
    let is_me = !may_change_access(me, user.id);
    let account = Account {
        id: user.id,
        username: user.username.clone(),
    };
    let role_cell = if is_me {
        view! { <span data-test="own-role">{user.role.as_str()}</span> }.into_any()
    } else {
        view! { <RoleChanger account=account.clone() current=user.role changes/> }.into_any()
    };
    view! {
        <tr data-test="user-row">
            <td>
                {user.username.clone()}
                {is_me.then(|| view! { " "<span class="muted">"(you)"</span> })}
            </td>
            <td>{role_cell}</td>
            <td>{if user.disabled { "yes" } else { "no" }}</td>
            <td><Time at=user.created_at/></td>
            <td>
                {match user.last_login_at {
                    Some(at) => view! { <Time at/> }.into_any(),
                    None => view! { <span class="muted">"never"</span> }.into_any(),
                }}
            </td>
            <td>
                <div class="row-actions">
                    {(!is_me).then(|| view! {
                        <AccessToggle account=account.clone() disabled=user.disabled changes/>
                    })}
                    <PasswordReset account is_me changes/>
                </div>
            </td>
        </tr>
    }
}

/// A role picked in the select is only saved once confirmed: a new role signs the person
/// out everywhere.
#[component]
fn RoleChanger(account: Account, current: Role, changes: Changes) -> impl IntoView {
    let proposed = RwSignal::new(None::<Role>);
    let label = format!("Role of {}", account.username);
    let account = StoredValue::new(account);
    let save = Callback::new(move |()| {
        if let Some(role) = proposed.get_untracked() {
            let change = account.with_value(|a| {
                a.change(
                    UpdateUserRequest {
                        role: Some(role),
                        ..Default::default()
                    },
                    format!("{} is now {role}.", a.username),
                )
            });
            changes.dispatch(change);
        }
    });
    let question = move |role: Role| {
        account.with_value(|a| {
            format!(
                "Change the role of {} from {current} to {role}? They are signed out and sign in again with the new role.",
                a.username
            )
        })
    };
    view! {
        <select aria-label=label data-test="user-role"
            prop:value=move || proposed.get().unwrap_or(current).as_str()
            on:change=move |ev| {
                let picked = event_target_value(&ev).parse::<Role>().ok();
                proposed.set(picked.filter(|role| *role != current));
            }>
            {Role::ALL.iter().map(|role| view! {
                <option value=role.as_str() selected=*role == current>{role.as_str()}</option>
            }).collect_view()}
        </select>
        {move || proposed.get().map(|role| view! {
            <Confirmation
                question=question(role)
                confirm="Save role"
                busy=changes.pending()
                on_confirm=save
                on_cancel=Callback::new(move |()| proposed.set(None))
            />
        })}
    }
}

/// Disabling asks first (it signs the person out and keeps them out); enabling does not.
#[component]
fn AccessToggle(account: Account, disabled: bool, changes: Changes) -> impl IntoView {
    let confirming = RwSignal::new(false);
    let pending = changes.pending();
    let account = StoredValue::new(account);
    let set_disabled = move |disabled: bool| {
        let change = account.with_value(|a| {
            let done = if disabled {
                format!("{} is disabled and can no longer sign in.", a.username)
            } else {
                format!("{} is enabled and can sign in again.", a.username)
            };
            a.change(
                UpdateUserRequest {
                    disabled: Some(disabled),
                    ..Default::default()
                },
                done,
            )
        });
        changes.dispatch(change);
    };
    let name = move || account.with_value(|a| a.username.clone());
    if disabled {
        return view! {
            <button type="button" data-test="enable-user" disabled=move || pending.get()
                aria-label=move || format!("Enable {}", name())
                on:click=move |_| set_disabled(false)>"Enable"</button>
        }
        .into_any();
    }
    view! {
        <Show
            when=move || confirming.get()
            fallback=move || view! {
                <button type="button" class="danger" data-test="disable-user"
                    aria-label=move || format!("Disable {}", name())
                    on:click=move |_| confirming.set(true)>"Disable"</button>
            }
        >
            <Confirmation
                question=format!("Disable {}? They are signed out and cannot sign in until enabled again.", name())
                confirm="Disable"
                busy=pending
                on_confirm=Callback::new(move |()| set_disabled(true))
                on_cancel=Callback::new(move |()| confirming.set(false))
            />
        </Show>
    }
    .into_any()
}

#[component]
fn PasswordReset(account: Account, is_me: bool, changes: Changes) -> impl IntoView {
    let open = RwSignal::new(false);
    let name = account.username.clone();
    let account = StoredValue::new(account);
    view! {
        <Show
            when=move || open.get()
            fallback=move || {
                let name = name.clone();
                view! {
                    <button type="button" data-test="reset-password"
                        aria-label=format!("Reset the password of {name}")
                        on:click=move |_| open.set(true)>"Reset password"</button>
                }
            }
        >
            <PasswordResetForm
                account=account.get_value()
                is_me
                changes
                on_cancel=Callback::new(move |()| open.set(false))
            />
        </Show>
    }
}

#[component]
fn PasswordResetForm(
    account: Account,
    is_me: bool,
    changes: Changes,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let password = RwSignal::new(String::new());
    let confirmation = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let pending = changes.pending();
    let first_field = NodeRef::<html::Input>::new();
    Effect::new(move |_| {
        if let Some(input) = first_field.get() {
            let _ = input.focus();
        }
    });
    let new_id = format!("new-password-{}", account.id);
    let again_id = format!("new-password-again-{}", account.id);
    let hint_id = format!("new-password-hint-{}", account.id);
    let hint = if is_me {
        format!(
            "At least {MIN_PASSWORD_CHARS} characters. This is your own account: you will be signed out and sign in with the new password."
        )
    } else {
        format!(
            "At least {MIN_PASSWORD_CHARS} characters. {} is signed out everywhere.",
            account.username
        )
    };
    let account = StoredValue::new(account);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (new, again) = (password.get_untracked(), confirmation.get_untracked());
        if let Some(message) = password_problem(&new, &again) {
            problem.set(Some(message));
            return;
        }
        problem.set(None);
        let change = account.with_value(|a| {
            a.change(
                UpdateUserRequest {
                    password: Some(Secret::new(new)),
                    ..Default::default()
                },
                format!("The password of {} was reset.", a.username),
            )
        });
        changes.dispatch(change);
    };
    view! {
        <form class="stacked reset-password" on:submit=submit data-test="reset-password-form">
            <label for=new_id.clone()>"New password"</label>
            <input id=new_id type="password" autocomplete="new-password" required node_ref=first_field
                aria-describedby=hint_id.clone()
                prop:value=move || password.get()
                on:input=move |ev| password.set(event_target_value(&ev))/>
            <label for=again_id.clone()>"New password again"</label>
            <input id=again_id type="password" autocomplete="new-password" required
                prop:value=move || confirmation.get()
                on:input=move |ev| confirmation.set(event_target_value(&ev))/>
            <p id=hint_id class="hint">{hint}</p>
            {move || problem.get().map(|message| view! { <p class="field-error" role="alert">{message}</p> })}
            <div class="buttons">
                <button type="submit" disabled=move || pending.get()>"Save password"</button>
                <button type="button" on:click=move |_| on_cancel.run(())>"Cancel"</button>
            </div>
        </form>
    }
}
