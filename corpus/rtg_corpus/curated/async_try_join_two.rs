//! category: async
//! focal: load_profile
use std::time::Duration;

#[derive(Debug, PartialEq)]
pub struct Profile {
    pub name: String,
    pub posts: usize,
}

async fn fetch_name(id: u32) -> Result<String, String> {
    tokio::time::sleep(Duration::from_millis(1)).await;
    if id == 0 { Err("no such user".into()) } else { Ok(format!("user{id}")) }
}

async fn fetch_post_count(id: u32) -> Result<usize, String> {
    if id > 1000 { Err("posts unavailable".into()) } else { Ok(id as usize % 7) }
}

/// Fetches the name and the post count concurrently; the first error wins.
pub async fn load_profile(id: u32) -> Result<Profile, String> {
    let (name, posts) = tokio::try_join!(fetch_name(id), fetch_post_count(id))?;
    Ok(Profile { name, posts })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn combines_both_results() {
        assert_eq!(load_profile(9).await, Ok(Profile { name: "user9".into(), posts: 2 }));
    }

    #[tokio::test]
    async fn name_error_propagates() {
        assert_eq!(load_profile(0).await, Err("no such user".to_string()));
    }

    #[tokio::test]
    async fn post_error_propagates() {
        assert_eq!(load_profile(5000).await, Err("posts unavailable".to_string()));
    }
}
