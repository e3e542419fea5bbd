//! The name of the workstation an agent looks after: what the coordinator binds assessments,
//! proposals and executions to, so that work meant for one machine is never done on another.

use anyhow::bail;
use coordinator_api::MachineId;

/// The configured `machine_id`, or else this machine's host name. Both follow the wire
/// crate's rule for machine ids, which keeps them in lower case (host names are
/// case-insensitive).
pub fn resolve(configured: Option<&str>) -> anyhow::Result<MachineId> {
    match configured {
        Some(id) => match MachineId::parse(id) {
            Ok(machine) => Ok(machine),
            Err(rule) => bail!("machine_id `{id}`: {rule}"),
        },
        None => {
            let host = gethostname::gethostname().to_string_lossy().into_owned();
            match MachineId::parse(&host) {
                Ok(machine) => Ok(machine),
                Err(rule) => bail!(
                    "this machine's host name `{host}` cannot serve as its machine id ({rule}); \
                     set machine_id in agent.toml"
                ),
            }
        }
    }
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
            assert_eq!(resolve(Some(good)).unwrap().as_str(), good);
        }
        assert_eq!(resolve(Some("Ana-Laptop")).unwrap().as_str(), "ana-laptop");
        for bad in [
            "",
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
        let host = gethostname::gethostname()
            .to_string_lossy()
            .to_ascii_lowercase();
        match resolve(None) {
            Ok(id) => assert_eq!(id.as_str(), host),
            Err(err) => assert!(err.to_string().contains("set machine_id"), "{err}"),
        }
    }
}
