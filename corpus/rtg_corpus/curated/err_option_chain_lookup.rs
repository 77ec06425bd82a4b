//! category: error_handling
//! focal: manager_email
use std::collections::HashMap;

pub struct Directory {
    pub managers: HashMap<String, String>,
    pub emails: HashMap<String, String>,
}

/// The email of `employee`'s manager, if the employee has a manager and that manager has an email.
pub fn manager_email<'a>(dir: &'a Directory, employee: &str) -> Option<&'a str> {
    let manager = dir.managers.get(employee)?;
    dir.emails.get(manager).map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory() -> Directory {
        Directory {
            managers: HashMap::from([("ann".into(), "bob".into()), ("cy".into(), "dee".into())]),
            emails: HashMap::from([("bob".into(), "bob@example.com".into())]),
        }
    }

    #[test]
    fn follows_manager_to_email() {
        assert_eq!(manager_email(&directory(), "ann"), Some("bob@example.com"));
    }

    #[test]
    fn none_without_manager_or_email() {
        let dir = directory();
        assert_eq!(manager_email(&dir, "bob"), None);
        assert_eq!(manager_email(&dir, "cy"), None);
        assert_eq!(manager_email(&dir, ""), None);
    }
}
