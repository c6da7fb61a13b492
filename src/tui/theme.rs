//! Colours and text styles, in one place so `no_color` is honoured everywhere.
//!
//! Without colour only modifiers (bold, dim, reversed) remain: they are not
//! colours, and every state is also spelled out with a symbol and a word.

use ratatui::style::{Color, Modifier, Style};

/// Which styles the widgets use. `Theme::plain()` carries no colour at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    color: bool,
}

impl Theme {
    pub fn new(color: bool) -> Theme {
        Theme { color }
    }

    pub fn colored() -> Theme {
        Theme::new(true)
    }

    pub fn plain() -> Theme {
        Theme::new(false)
    }

    pub fn has_color(&self) -> bool {
        self.color
    }

    fn fg(&self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    pub fn reachable(&self) -> Style {
        self.fg(Color::Green)
    }

    /// Answers, but not proven to work: neither green nor red.
    pub fn unverified(&self) -> Style {
        self.fg(Color::Cyan)
    }

    pub fn failed(&self) -> Style {
        self.fg(Color::Red)
    }

    pub fn running(&self) -> Style {
        self.fg(Color::Yellow)
    }

    pub fn pending(&self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }

    pub fn title(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn header(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    }

    pub fn label(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    pub fn muted(&self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }

    pub fn key(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    /// The selected table row: reversed video reads in any colour scheme.
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
}
