//! The tack terminal app: state, update and view. It speaks only protocol messages; the SSH
//! front and the local console are thin drivers around it.

pub mod admin;
pub mod app;
pub mod editor;
pub mod filter;
pub mod input;
pub mod keymap;
mod mouse;
mod overlays;
pub mod palette;
pub mod register;
mod screens;
mod sync;
pub mod text;
pub mod theme;
pub mod view;

pub use app::{App, Command, Msg};
pub use input::InputParser;
pub use theme::{ColorSupport, Theme};
