//! String enums of the contract, with one table per enum so parsing, printing and error texts agree.

/// Declares a wire enum: serde names, `parse`, `as_str`, the list of allowed values for error details, and its
/// OpenAPI schema, all from the one table of variants and texts.
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::domain::schema::wire_enum(
                    concat!("One of the ", stringify!($name), " values."),
                    Self::VALUES,
                    &[$(stringify!($variant)),+],
                )
            }
        }

        impl utoipa::ToSchema for $name {}

        impl $name {
            /// Every wire value, in contract order.
            pub const VALUES: &'static [&'static str] = &[$($text),+];

            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use wire_enum;
