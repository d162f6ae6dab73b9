//! Named choices (formats, devices, precisions) that a front end lists and
//! parses without the library knowing which front end it is.
//!
//! Gives: the [`Choice`] trait (every value with its name and a line of
//! help) and [`Choice::parse`].
//! Invariants: names are unique within a type and lower-case; a type's
//! `ALL` lists each value once.

/// A closed set of values, each with a name users type and a line of help.
pub trait Choice: Copy + Sized + 'static {
    /// Every value, in the order a listing shows them.
    const ALL: &'static [Self];

    /// The name users type (`fp32-opt`, `ntriples`, ...).
    fn name(self) -> &'static str;

    /// One line saying what the value means ("" where the name says it).
    fn help(self) -> &'static str {
        ""
    }

    /// The value with this name.
    fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.name() == name)
    }
}

/// Implements [`Choice`] for a fieldless enum from `Variant => "name", "help"` rows.
macro_rules! choices {
    ($type:ident { $($variant:ident => $name:literal, $help:literal;)+ }) => {
        impl $crate::choice::Choice for $type {
            const ALL: &'static [Self] = &[$($type::$variant),+];
            fn name(self) -> &'static str {
                match self { $($type::$variant => $name),+ }
            }
            fn help(self) -> &'static str {
                match self { $($type::$variant => $help),+ }
            }
        }
    };
}

pub(crate) use choices;

#[cfg(test)]
mod tests {
    use super::Choice;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Colour {
        Red,
        DarkBlue,
    }

    super::choices!(Colour {
        Red => "red", "";
        DarkBlue => "dark-blue", "the colour of the deep sea";
    });

    #[test]
    fn names_parse_back_to_their_values() {
        for &c in Colour::ALL {
            assert_eq!(Colour::parse(c.name()), Some(c));
        }
        assert_eq!(Colour::parse("DarkBlue"), None);
        assert_eq!(Colour::DarkBlue.help(), "the colour of the deep sea");
    }
}
