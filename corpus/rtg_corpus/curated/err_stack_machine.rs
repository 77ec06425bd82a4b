//! category: error_handling
//! focal: eval_rpn
#[derive(Debug, PartialEq, Eq)]
pub enum RpnError {
    StackUnderflow,
    UnknownToken(String),
    DivideByZero,
    LeftOver(usize),
}

/// Evaluates a reverse-Polish expression of i64s and `+ - * /`.
pub fn eval_rpn(expr: &str) -> Result<i64, RpnError> {
    let mut stack: Vec<i64> = Vec::new();
    for token in expr.split_whitespace() {
        if let Ok(n) = token.parse::<i64>() {
            stack.push(n);
            continue;
        }
        let b = stack.pop().ok_or(RpnError::StackUnderflow)?;
        let a = stack.pop().ok_or(RpnError::StackUnderflow)?;
        let value = match token {
            "+" => a.wrapping_add(b),
            "-" => a.wrapping_sub(b),
            "*" => a.wrapping_mul(b),
            "/" if b == 0 => return Err(RpnError::DivideByZero),
            "/" => a.wrapping_div(b),
            other => return Err(RpnError::UnknownToken(other.to_string())),
        };
        stack.push(value);
    }
    match stack.as_slice() {
        [result] => Ok(*result),
        [] => Err(RpnError::StackUnderflow),
        rest => Err(RpnError::LeftOver(rest.len())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluates_expressions() {
        assert_eq!(eval_rpn("3 4 + 2 *"), Ok(14));
        assert_eq!(eval_rpn("10 3 /"), Ok(3));
        assert_eq!(eval_rpn("-5"), Ok(-5));
    }

    #[test]
    fn reports_errors() {
        assert_eq!(eval_rpn(""), Err(RpnError::StackUnderflow));
        assert_eq!(eval_rpn("1 +"), Err(RpnError::StackUnderflow));
        assert_eq!(eval_rpn("1 2 ^"), Err(RpnError::UnknownToken("^".into())));
        assert_eq!(eval_rpn("1 0 /"), Err(RpnError::DivideByZero));
        assert_eq!(eval_rpn("1 2 3 +"), Err(RpnError::LeftOver(2)));
    }

    proptest! {
        #[test]
        fn addition_matches(a in -1000i64..1000, b in -1000i64..1000) {
            prop_assert_eq!(eval_rpn(&format!("{a} {b} +")), Ok(a + b));
        }
    }
}
