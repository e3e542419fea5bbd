//! Conditions in the specification's own words: `cpu_usage > 90`.

use coordinator_api::alerts::AlertMetric;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Operator {
    Above,
    AtLeast,
    Below,
    AtMost,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Condition {
    pub metric: AlertMetric,
    pub operator: Operator,
    pub threshold: f64,
}

impl Condition {
    pub fn parse(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        let [metric, operator, threshold] = parts.as_slice() else {
            return Err(
                "a condition is `<metric> <operator> <number>`, such as `cpu_usage > 90`"
                    .to_owned(),
            );
        };
        let metric: AlertMetric = metric.parse().map_err(|e| {
            let known: Vec<&str> = AlertMetric::ALL.iter().map(|m| m.as_str()).collect();
            format!("{e}; one of {}", known.join(", "))
        })?;
        let operator = match *operator {
            ">" => Operator::Above,
            ">=" => Operator::AtLeast,
            "<" => Operator::Below,
            "<=" => Operator::AtMost,
            other => return Err(format!("unknown operator `{other}`: use >, >=, < or <=")),
        };
        let threshold: f64 = threshold
            .parse()
            .ok()
            .filter(|t: &f64| t.is_finite())
            .ok_or_else(|| format!("`{threshold}` is not a number"))?;
        Ok(Self {
            metric,
            operator,
            threshold,
        })
    }

    pub fn holds(&self, value: f64) -> bool {
        match self.operator {
            Operator::Above => value > self.threshold,
            Operator::AtLeast => value >= self.threshold,
            Operator::Below => value < self.threshold,
            Operator::AtMost => value <= self.threshold,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_specification_examples_parse() {
        for (text, at, not_at) in [
            ("cpu_usage > 90", 91.0, 90.0),
            ("memory_usage > 85", 86.0, 85.0),
            ("error_rate > 5", 5.5, 5.0),
            ("response_time >= 1000", 1000.0, 999.0),
            ("queue_depth < 1", 0.0, 1.0),
        ] {
            let condition = Condition::parse(text).unwrap();
            assert!(condition.holds(at) && !condition.holds(not_at), "{text}");
        }
        assert!(
            Condition::parse("cpu > 90")
                .unwrap_err()
                .contains("cpu_usage")
        );
        assert!(Condition::parse("cpu_usage >> 90").is_err());
        assert!(Condition::parse("cpu_usage > lots").is_err());
        assert!(Condition::parse("cpu_usage > NaN").is_err());
    }
}
