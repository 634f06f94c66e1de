//! The fixed choices of a ticket, with the wire values of docs/design.md.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A value that is not one of the allowed wire values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseChoiceError {
    pub what: &'static str,
    pub value: String,
    pub allowed: &'static [&'static str],
}

impl fmt::Display for ParseChoiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "'{}' is not a {}; use one of: {}",
            self.value,
            self.what,
            self.allowed.join(", ")
        )
    }
}

impl std::error::Error for ParseChoiceError {}

macro_rules! choice {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal $(, default $default:ident)? {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, $label:literal; )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $wire)] $variant, )+
        }

        impl $name {
            /// Every value, in display order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            const WIRE: &'static [&'static str] = &[$($wire),+];

            /// The wire value.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire,)+ }
            }

            /// The English text a teacher sees.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label,)+ }
            }
        }

        $(
            impl Default for $name {
                fn default() -> Self {
                    $name::$default
                }
            }
        )?

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ParseChoiceError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    _ => Err(ParseChoiceError { what: $what, value: s.to_owned(), allowed: Self::WIRE }),
                }
            }
        }
    };
}

choice! {
    /// What kind of problem it is.
    Category, "category" {
        Display = "display", "Display, projector or board";
        Sound = "sound", "Sound or microphone";
        Printer = "printer", "Printer";
        Wifi = "wifi", "Wi-Fi or internet";
        SignIn = "sign-in", "Signing in or password";
        App = "app", "An app or website";
        Computer = "computer", "This computer (slow, won't start, broken)";
        Other = "other", "Something else";
    }
}

choice! {
    /// "Is this stopping your class right now?"
    Urgency, "urgency", default Whenever {
        Now = "now", "Yes, right now";
        Soon = "soon", "Soon";
        Whenever = "whenever", "When you can";
    }
}

choice! {
    /// "Who is affected?"
    Scope, "scope", default Me {
        Me = "me", "Just me";
        Room = "room", "My room";
        Building = "building", "My building";
        District = "district", "Everyone";
    }
}

choice! {
    /// Where a ticket stands at the help desk.
    TicketStatus, "status" {
        New = "new", "Received";
        Assigned = "assigned", "Assigned";
        InProgress = "in_progress", "In progress";
        WaitingOnTeacher = "waiting_on_teacher", "Waiting on you";
        Resolved = "resolved", "Resolved";
        Closed = "closed", "Closed";
    }
}

impl TicketStatus {
    /// Resolved and closed tickets are no longer worked.
    pub fn is_open(self) -> bool {
        !matches!(self, TicketStatus::Resolved | TicketStatus::Closed)
    }
}
