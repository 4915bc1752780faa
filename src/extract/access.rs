//! What the run's token allows it to read, decided once from its roles.

use crate::graph::TokenClaims;

/// What the token's application permissions allow beyond listing users and groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Access {
    /// `Member.Read.Hidden`: the members of groups whose membership is hidden.
    pub read_hidden: bool,
    /// `Directory.Read.All` (or `Directory.ReadWrite.All`): objects looked up by id with
    /// getByIds, which the fast plan and a rerun's names of other objects need.
    pub look_up_ids: bool,
}

impl Access {
    /// What `claims` grant; nothing beyond listing without readable claims.
    pub fn of(claims: Option<&TokenClaims>) -> Access {
        let has = |role: &str| claims.is_some_and(|c| c.has_role(role));
        Access {
            read_hidden: has("Member.Read.Hidden"),
            look_up_ids: has("Directory.Read.All") || has("Directory.ReadWrite.All"),
        }
    }

    /// Whether the members of a group can be read: a hidden membership only with
    /// `Member.Read.Hidden`.
    pub fn reads_members(self, hidden_membership: bool) -> bool {
        self.read_hidden || !hidden_membership
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(roles: &[&str]) -> TokenClaims {
        TokenClaims {
            roles: roles.iter().map(|r| r.to_string()).collect(),
            ..TokenClaims::default()
        }
    }

    #[test]
    fn access_follows_the_granted_roles() {
        assert_eq!(Access::of(None), Access::default());
        let read = Access::of(Some(&claims(&["directory.read.all"])));
        assert_eq!((read.read_hidden, read.look_up_ids), (false, true));
        let write = Access::of(Some(&claims(&[
            "Directory.ReadWrite.All",
            "Member.Read.Hidden",
        ])));
        assert_eq!((write.read_hidden, write.look_up_ids), (true, true));
        assert!(!read.reads_members(true) && read.reads_members(false));
        assert!(write.reads_members(true));
    }
}
