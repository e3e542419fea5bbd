//! The name of the workstation an agent looks after: what the coordinator will bind
//! assessments, proposals and executions to, so that work meant for one machine is never
//! done on another.

use anyhow::bail;

const MAX_LEN: usize = 64;

/// The configured `machine_id`, or else this machine's host name in lower case (host names
/// are case-insensitive, ids are not).
pub fn resolve(configured: Option<&str>) -> anyhow::Result<String> {
    match configured {
        Some(id) => {
            if let Err(rule) = check(id) {
                bail!("machine_id `{id}`: {rule}");
            }
            Ok(id.to_owned())
        }
        None => {
            let host = gethostname::gethostname().to_string_lossy().to_lowercase();
            if let Err(rule) = check(&host) {
                bail!(
                    "this machine's host name `{host}` cannot serve as its machine id ({rule}); \
                     set machine_id in agent.toml"
                );
            }
            Ok(host)
        }
    }
}

/// The rule for server ids, which machine ids share.
fn check(id: &str) -> Result<(), String> {
    let starts_well = id
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let all_allowed = id
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
    if id.len() > MAX_LEN || !starts_well || !all_allowed {
        return Err(format!(
            "a machine id is 1 to {MAX_LEN} characters of a-z, 0-9, '-', '_' or '.', starting \
             with a letter or digit"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_id_is_checked() {
        for good in [
            "ana-laptop",
            "ws01",
            "build.example.com",
            "0day_box",
            &"a".repeat(64),
        ] {
            assert_eq!(resolve(Some(good)).unwrap(), good);
        }
        for bad in [
            "",
            "Ana-Laptop",
            "-laptop",
            ".hidden",
            "ana laptop",
            "café",
            &"a".repeat(65),
        ] {
            let err = resolve(Some(bad)).unwrap_err().to_string();
            assert!(err.contains("machine_id"), "{err}");
            assert!(err.contains("1 to 64 characters"), "{err}");
        }
    }

    #[test]
    fn without_one_the_host_name_is_used_in_lower_case() {
        let host = gethostname::gethostname().to_string_lossy().to_lowercase();
        match resolve(None) {
            Ok(id) => assert_eq!(id, host),
            Err(err) => assert!(err.to_string().contains("set machine_id"), "{err}"),
        }
    }
}
