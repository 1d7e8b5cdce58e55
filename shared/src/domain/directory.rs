//! Keeping the directory current from a vendor's user list (`archiver-admin users sync`): pure, so that what
//! a sync would change is the same diff `apply` prints. A listed person is matched to a stored user by their
//! vendor id, else by e-mail; a match gains the vendor id and takes the vendor's status (deactivated at the
//! vendor: blocked here; active: active); anyone else becomes a new user whose id is made from their e-mail.
//! Stored users the vendor does not list are kept as they are.
//!
//! Groups: a tenant group whose id is a vendor group's name made an id (Zoom's `Chemistry Faculty` →
//! `chemistry-faculty`) is *managed by the vendor*: every listed person is in it exactly when the vendor says
//! so (added or removed). Other groups stay as the admin set them.

use crate::config::{User, UserStatus, VendorUserId};
use crate::ids::{Email, GroupId, TenantId, UserId, Vendor};

/// One person as the vendor lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedPerson {
    pub vendor_id: String,
    pub email: Email,
    pub name: String,
    /// Deactivated (Zoom `inactive`) people are listed too: they become blocked users.
    pub active: bool,
    /// The managed groups (see the module) the vendor has them in.
    pub groups: Vec<GroupId>,
}

/// The directory after a sync, and one line per person who could not be taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synced {
    pub users: Vec<User>,
    pub notes: Vec<String>,
}

/// `stored` (the tenant's users) with `listed` (from `vendor`) merged in; `managed`: the tenant's groups the
/// vendor has too, whose membership follows the vendor's.
pub fn merge(
    tenant: &TenantId,
    vendor: Vendor,
    stored: &[User],
    listed: &[ListedPerson],
    managed: &[GroupId],
) -> Synced {
    let mut users = stored.to_vec();
    let mut notes = Vec::new();
    for p in listed {
        let found = users
            .iter()
            .position(|u| {
                u.vendor_ids
                    .iter()
                    .any(|v| v.vendor == vendor && v.id == p.vendor_id)
            })
            .or_else(|| users.iter().position(|u| u.email == p.email));
        let status = if p.active {
            UserStatus::Active
        } else {
            UserStatus::Blocked
        };
        match found {
            Some(i) => {
                let u = &mut users[i];
                if !u.vendor_ids.iter().any(|v| v.vendor == vendor && v.id == p.vendor_id) {
                    u.vendor_ids.push(VendorUserId {
                        vendor,
                        id: p.vendor_id.clone(),
                    });
                }
                u.status = status;
                u.groups.retain(|g| !managed.contains(g));
                for g in &p.groups {
                    if !u.groups.contains(g) {
                        u.groups.push(g.clone());
                    }
                }
                if u.name.is_empty() {
                    u.name = p.name.clone();
                }
            }
            None => match new_id(&p.email, &users) {
                Some(id) => users.push(User {
                    id,
                    tenant: tenant.clone(),
                    email: p.email.clone(),
                    name: p.name.clone(),
                    vendor_ids: vec![VendorUserId {
                        vendor,
                        id: p.vendor_id.clone(),
                    }],
                    external_id: None,
                    status,
                    groups: p.groups.clone(),
                    opt_out: false,
                }),
                None => notes.push(format!(
                    "{} ({vendor} user {}): no user id can be made of the e-mail; add them by hand or by users import",
                    p.email, p.vendor_id
                )),
            },
        }
    }
    Synced { users, notes }
}

/// A user id made of the e-mail's local part (`Ann.Lee_2@uni.edu` → `ann-lee-2`), with `-2`, `-3`… when
/// another user has it.
fn new_id(email: &Email, users: &[User]) -> Option<UserId> {
    let local = email.as_str().split('@').next().unwrap_or_default();
    let base = crate::ids::slug_of(local, 58)?;
    (1..1000).find_map(|n| {
        let id = if n == 1 {
            base.to_owned()
        } else {
            format!("{base}-{n}")
        };
        let id = UserId::parse(id).ok()?;
        users.iter().all(|u| u.id != id).then_some(id)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: &str, email: &str, active: bool) -> ListedPerson {
        ListedPerson {
            vendor_id: id.into(),
            email: Email::parse(email).unwrap(),
            name: format!("Name of {id}"),
            active,
            groups: vec![],
        }
    }

    #[test]
    fn people_are_matched_by_vendor_id_then_e_mail_take_the_vendors_status_and_new_ones_get_an_id()
    {
        let tenant = TenantId::parse("uni").unwrap();
        let mut ann = crate::fakes::user("ann", "ann@uni.edu");
        ann.groups = vec![crate::ids::GroupId::parse("staff").unwrap()];
        let mut bob = crate::fakes::user("bob", "bob.old@uni.edu");
        bob.vendor_ids = vec![VendorUserId {
            vendor: Vendor::Zoom,
            id: "Zbob".into(),
        }];
        let taken = crate::fakes::user("jane-doe", "jane@else.edu");
        let listed = [
            person("Zann", "ann@uni.edu", true),
            person("Zbob", "bob.new@uni.edu", false),
            person("Zjane", "Jane.Doe@uni.edu", true),
            person("Zjane2", "jane_doe@uni.edu", true),
            person("Zodd", "...@uni.edu", true),
        ];
        let got = merge(&tenant, Vendor::Zoom, &[ann, bob, taken], &listed, &[]);
        let by = |id: &str| got.users.iter().find(|u| u.id.as_str() == id).unwrap();
        // Ann keeps her id and groups and gains the Zoom id.
        assert_eq!(by("ann").vendor_ids[0].id, "Zann");
        assert_eq!(by("ann").groups.len(), 1);
        // Bob is found by his Zoom id although his e-mail changed; deactivated at Zoom: blocked.
        assert_eq!(by("bob").status, UserStatus::Blocked);
        assert_eq!(by("bob").email.as_str(), "bob.old@uni.edu");
        // New people: ids from the e-mail, another suffix where one is taken.
        assert_eq!(by("jane-doe-2").email.as_str(), "jane.doe@uni.edu");
        assert_eq!(by("jane-doe-3").vendor_ids[0].id, "Zjane2");
        assert_eq!(by("jane-doe-2").name, "Name of Zjane");
        assert_eq!(got.users.len(), 5);
        assert_eq!(got.notes.len(), 1, "{:?}", got.notes);
        assert!(got.notes[0].starts_with("...@uni.edu (zoom user Zodd)"));
        // A second sync of the same list changes nothing.
        let again = merge(&tenant, Vendor::Zoom, &got.users, &listed, &[]);
        assert_eq!(again.users, got.users);
    }

    #[test]
    fn a_managed_group_follows_the_vendor_and_the_admins_own_groups_stay() {
        let tenant = TenantId::parse("uni").unwrap();
        let g = |s: &str| GroupId::parse(s).unwrap();
        let mut ann = crate::fakes::user("ann", "ann@uni.edu");
        // `chemistry` is Zoom's (managed); `staff` the admin's own.
        ann.groups = vec![g("staff"), g("chemistry")];
        let mut listed_ann = person("Zann", "ann@uni.edu", true);
        listed_ann.groups = vec![g("physics")];
        let mut new = person("Zcy", "cy@uni.edu", true);
        new.groups = vec![g("chemistry")];
        let managed = [g("chemistry"), g("physics")];
        let got = merge(&tenant, Vendor::Zoom, &[ann], &[listed_ann, new], &managed);
        let by = |id: &str| got.users.iter().find(|u| u.id.as_str() == id).unwrap();
        assert_eq!(by("ann").groups, [g("staff"), g("physics")]);
        assert_eq!(by("cy").groups, [g("chemistry")]);
    }
}
