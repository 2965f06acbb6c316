//! Tool argument validation against the declared parameters, with JSON-Schema-style messages (which argument,
//! what was expected, what came). Validated arguments become SQLite values that are always bound as parameters.

use rusqlite::types::Value as SqlValue;
use serde_json::{Map, Value};

use crate::spec::{ParamSpec, ParamType};

/// Why an argument was refused.
#[derive(Debug, Clone, PartialEq)]
pub struct ArgError {
    pub argument: Option<String>,
    pub message: String,
}

fn fail(argument: &str, message: String) -> ArgError {
    ArgError { argument: Some(argument.to_string()), message }
}

/// A short description of a JSON value for messages: its type and, when short, the value itself.
pub fn describe(v: &Value) -> String {
    let ty = match v {
        Value::Null => return "null".into(),
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let text = v.to_string();
    if text.chars().count() <= 40 { format!("{ty} {text}") } else { ty.to_string() }
}

/// Validates `args` against `params` (in declared order) and returns one SQL value per parameter.
pub fn validate_args(params: &[(String, ParamSpec)], args: &Map<String, Value>) -> Result<Vec<SqlValue>, ArgError> {
    for key in args.keys() {
        if !params.iter().any(|(name, _)| name == key) {
            let known: Vec<&str> = params.iter().map(|(n, _)| n.as_str()).collect();
            let takes = if known.is_empty() { "no arguments".to_string() } else { known.join(", ") };
            return Err(fail(key, format!("unexpected argument '{key}'; this tool takes: {takes}")));
        }
    }
    let mut out = Vec::with_capacity(params.len());
    for (name, spec) in params {
        let value = match args.get(name) {
            Some(Value::Null) if spec.nullable => {
                out.push(SqlValue::Null);
                continue;
            }
            Some(Value::Null) | None => match (&spec.default, spec.required) {
                (Some(d), _) => d,
                (None, true) => {
                    return Err(fail(name, format!("missing required argument '{name}' ({})", spec.ty.as_str())));
                }
                (None, false) => {
                    out.push(SqlValue::Null);
                    continue;
                }
            },
            Some(v) => v,
        };
        out.push(check_value(name, spec, value)?);
    }
    Ok(out)
}

/// Checks one value against its parameter spec.
pub fn check_value(name: &str, spec: &ParamSpec, value: &Value) -> Result<SqlValue, ArgError> {
    let expected = |what: &str| fail(name, format!("argument '{name}' must be {what}, got {}", describe(value)));
    let sql = match spec.ty {
        ParamType::String => match value {
            Value::String(s) => {
                let len = s.chars().count();
                if let Some(min) = spec.min_length.filter(|m| len < *m) {
                    return Err(fail(name, format!("argument '{name}' must be at least {min} characters, got {len}")));
                }
                if let Some(max) = spec.max_length.filter(|m| len > *m) {
                    return Err(fail(name, format!("argument '{name}' must be at most {max} characters, got {len}")));
                }
                SqlValue::Text(s.clone())
            }
            _ => return Err(expected("a string")),
        },
        ParamType::Integer => {
            let i = match value {
                Value::Number(n) => {
                    n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| f as i64))
                }
                _ => None,
            };
            let i = i.ok_or_else(|| expected("an integer"))?;
            check_range(name, spec, i as f64)?;
            SqlValue::Integer(i)
        }
        ParamType::Number => {
            let f = value.as_f64().filter(|f| f.is_finite()).ok_or_else(|| expected("a number"))?;
            check_range(name, spec, f)?;
            match value.as_i64() {
                Some(i) => SqlValue::Integer(i),
                None => SqlValue::Real(f),
            }
        }
        ParamType::Boolean => match value {
            Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
            _ => return Err(expected("a boolean (true or false)")),
        },
        ParamType::Array => match value {
            Value::Array(items) => {
                if let Some(min) = spec.min_length.filter(|m| items.len() < *m) {
                    return Err(fail(
                        name,
                        format!("argument '{name}' must have at least {min} items, got {}", items.len()),
                    ));
                }
                if let Some(max) = spec.max_length.filter(|m| items.len() > *m) {
                    return Err(fail(
                        name,
                        format!("argument '{name}' must have at most {max} items, got {}", items.len()),
                    ));
                }
                SqlValue::Text(value.to_string())
            }
            _ => return Err(expected("an array")),
        },
    };
    if let Some(allowed) = &spec.allowed {
        let ok = allowed.iter().any(|a| a == value || (a.as_f64().is_some() && a.as_f64() == value.as_f64()));
        if !ok {
            let list: Vec<String> = allowed.iter().map(|a| a.to_string()).collect();
            return Err(fail(
                name,
                format!("argument '{name}' must be one of {}, got {}", list.join(", "), describe(value)),
            ));
        }
    }
    Ok(sql)
}

fn check_range(name: &str, spec: &ParamSpec, x: f64) -> Result<(), ArgError> {
    if let Some(min) = spec.minimum.filter(|m| x < *m) {
        return Err(fail(name, format!("argument '{name}' must be >= {min}, got {x}")));
    }
    if let Some(max) = spec.maximum.filter(|m| x > *m) {
        return Err(fail(name, format!("argument '{name}' must be <= {max}, got {x}")));
    }
    Ok(())
}

/// Rough size in bytes of a JSON value as text (for the argument size limit, without serializing).
pub fn approx_size(v: &Value) -> usize {
    match v {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 12,
        Value::String(s) => s.len() + 2,
        Value::Array(a) => 2 + a.iter().map(|x| approx_size(x) + 1).sum::<usize>(),
        Value::Object(o) => 2 + o.iter().map(|(k, x)| k.len() + 4 + approx_size(x)).sum::<usize>(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(ty: ParamType) -> ParamSpec {
        ParamSpec::new(ty)
    }

    fn params() -> Vec<(String, ParamSpec)> {
        let mut qty = p(ParamType::Integer);
        qty.required = true;
        qty.minimum = Some(1.0);
        qty.maximum = Some(10.0);
        let mut status = p(ParamType::String);
        status.allowed = Some(vec![json!("open"), json!("closed")]);
        let mut limit = p(ParamType::Integer);
        limit.default = Some(json!(5));
        let mut name = p(ParamType::String);
        name.max_length = Some(3);
        vec![("qty".into(), qty), ("status".into(), status), ("limit".into(), limit), ("name".into(), name)]
    }

    fn err(args: Value) -> ArgError {
        validate_args(&params(), args.as_object().unwrap()).unwrap_err()
    }

    #[test]
    fn valid_args_bind_in_order_with_defaults() {
        let v = validate_args(&params(), json!({"qty": 2, "status": "open"}).as_object().unwrap()).unwrap();
        assert_eq!(v, vec![SqlValue::Integer(2), SqlValue::Text("open".into()), SqlValue::Integer(5), SqlValue::Null]);
        let v = validate_args(&params(), json!({"qty": 3.0}).as_object().unwrap()).unwrap();
        assert_eq!(v[0], SqlValue::Integer(3));
    }

    #[test]
    fn messages_name_argument_expectation_and_value() {
        let e = err(json!({}));
        assert_eq!(e.argument.as_deref(), Some("qty"));
        assert_eq!(e.message, "missing required argument 'qty' (integer)");
        assert_eq!(err(json!({"qty": "2"})).message, "argument 'qty' must be an integer, got string \"2\"");
        assert_eq!(err(json!({"qty": 2.5})).message, "argument 'qty' must be an integer, got number 2.5");
        assert_eq!(err(json!({"qty": 0})).message, "argument 'qty' must be >= 1, got 0");
        assert_eq!(err(json!({"qty": 11})).message, "argument 'qty' must be <= 10, got 11");
        assert_eq!(
            err(json!({"qty": 1, "status": "pending"})).message,
            "argument 'status' must be one of \"open\", \"closed\", got string \"pending\""
        );
        assert_eq!(
            err(json!({"qty": 1, "name": "abcd"})).message,
            "argument 'name' must be at most 3 characters, got 4"
        );
        let e = err(json!({"qty": 1, "colour": "red"}));
        assert_eq!(e.argument.as_deref(), Some("colour"));
        assert!(e.message.contains("this tool takes: qty, status, limit, name"), "{}", e.message);
    }
}
