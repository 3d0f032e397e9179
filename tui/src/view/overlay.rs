//! The layers drawn over a screen.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, List, ListItem, ListState, Paragraph, Wrap};

use super::{centered, panel};
use crate::app::{App, Overlay, Prompt};
use crate::keymap::{BINDINGS, Scope};
use crate::text::{line, plain};

pub(super) fn draw_overlay(app: &App, overlay: &Overlay, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    match overlay {
        Overlay::Help => {
            let mut sections: Vec<Vec<Line>> = Vec::new();
            // The keys of this screen and the ones that work everywhere; the palette has the rest.
            let here = match app.scope() {
                Scope::Home => "On the home screen",
                Scope::Board => "On the board",
                Scope::List => "In the list",
                Scope::Detail => "On an issue",
                Scope::Profile => "In your profile",
                Scope::Inbox => "In your inbox",
                Scope::Admin => "In the admin console",
                Scope::Insights => "In insights",
                Scope::Global => "",
            };
            for (scope, name) in [(app.scope(), here), (Scope::Global, "Everywhere")] {
                let mut lines = vec![Line::from(Span::styled(name, t.title()))];
                for binding in BINDINGS.iter().filter(|b| b.scope == scope) {
                    lines.push(Line::from(vec![
                        Span::styled(format!("  {:<7}", binding.shown), t.accent()),
                        Span::raw(binding.description),
                    ]));
                }
                sections.push(lines);
            }
            let total: usize = sections.iter().map(Vec::len).sum();
            // Two columns when one would not fit the screen.
            let two = total as u16 + 2 > area.height;
            let (left, right): (Vec<Line>, Vec<Line>) = if two {
                let mut left = Vec::new();
                let mut right = Vec::new();
                for section in sections {
                    if left.len() + section.len() <= total.div_ceil(2) + 2 && right.is_empty() {
                        left.extend(section)
                    } else {
                        right.extend(section)
                    }
                }
                (left, right)
            } else {
                (sections.concat(), Vec::new())
            };
            let height = left.len().max(right.len()) as u16 + 2;
            let rect = centered(area, if two { 96 } else { 56 }, height);
            frame.render_widget(Clear, rect);
            let block = panel(app, "Keys · any key closes".into(), true);
            let inner = block.inner(rect);
            frame.render_widget(block, rect);
            if two {
                let [l, r] =
                    Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                        .areas(inner);
                frame.render_widget(Paragraph::new(left), l);
                frame.render_widget(Paragraph::new(right), r);
            } else {
                frame.render_widget(Paragraph::new(left), inner);
            }
        }
        Overlay::Input { prompt, text } => {
            let title = match prompt {
                Prompt::AddKey => {
                    "Add an SSH key · paste a line from ~/.ssh/id_ed25519.pub".to_string()
                }
                Prompt::NewToken => "New API token · its name (e.g. ci)".to_string(),
                Prompt::Labels { issues } => format!(
                    "Labels of {} · words add, -word removes",
                    if issues.len() == 1 {
                        issues[0].clone()
                    } else {
                        format!("{} issues", issues.len())
                    }
                ),
                Prompt::Due { issue, .. } => {
                    format!("Due date of {issue} · YYYY-MM-DD, empty clears")
                }
                Prompt::Filter => {
                    "Filter · is:open label:bug assignee:@me priority:>=high sort:due".to_string()
                }
                Prompt::NewIssue { project, state } => match state {
                    Some(state) => format!("New issue in {} · {}", plain(project), plain(state)),
                    None => format!("New issue in {}", plain(project)),
                },
                Prompt::Title { issue, .. } => format!("Title of {issue}"),
                Prompt::Admin(prompt) => super::admin::prompt_title(prompt),
                Prompt::SaveView => format!(
                    "Save view · a name; end it with 'shared' to share it with {}",
                    app.board
                        .as_ref()
                        .map_or("the project".into(), |b| b.project.key.clone())
                ),
            };
            let filtering = matches!(prompt, Prompt::Filter);
            let rect = centered(area, 70, if filtering { 6 } else { 5 });
            frame.render_widget(Clear, rect);
            let shown = line(text, rect.width.saturating_sub(5) as usize);
            let mut input = vec![Span::raw(shown.clone()), Span::styled("▏", t.accent())];
            let mut hint = Line::from(Span::styled("enter saves · esc cancels", t.dim()));
            let mut more = None;
            if filtering {
                // What could come next, whether or not the text reads yet.
                let options = crate::filter::completions(text, app);
                if !options.is_empty() {
                    let shown: Vec<String> = options.iter().take(6).map(|o| plain(o)).collect();
                    more = Some(Line::from(Span::styled(
                        format!("tab: {}", shown.join("  ")),
                        t.dim(),
                    )));
                }
                match app.filter.error() {
                    Some(error) => {
                        // What cannot be read is marked from the column of the mistake on.
                        let at = error.column.saturating_sub(1).min(shown.chars().count());
                        let (good, bad): (String, String) = (
                            shown.chars().take(at).collect(),
                            shown.chars().skip(at).collect(),
                        );
                        input = vec![
                            Span::raw(good),
                            Span::styled(
                                bad,
                                t.error().add_modifier(ratatui::style::Modifier::UNDERLINED),
                            ),
                            Span::styled("▏", t.accent()),
                        ];
                        hint = Line::from(Span::styled(error.to_string(), t.error()));
                    }
                    None => {
                        hint = Line::from(Span::styled(
                            "enter keeps it · esc cancels · tab completes",
                            t.dim(),
                        ));
                    }
                }
            }
            let mut lines = vec![Line::from(input), hint];
            lines.extend(more);
            frame.render_widget(
                Paragraph::new(lines)
                    .wrap(Wrap { trim: false })
                    .block(panel(app, title, true)),
                rect,
            );
        }
        Overlay::TotpEnrol { uri, secret, code } => {
            use qrcode::render::unicode::Dense1x2;
            // Light modules drawn as blocks reads on dark and light terminals alike.
            let qr = qrcode::QrCode::new(uri.as_bytes())
                .map(|qr| {
                    qr.render::<Dense1x2>()
                        .dark_color(Dense1x2::Light)
                        .light_color(Dense1x2::Dark)
                        .quiet_zone(true)
                        .build()
                })
                .unwrap_or_default();
            // Below the QR code's height, the secret alone (every app accepts it typed in).
            let fits = qr.lines().count() as u16 + 7 <= area.height;
            let mut lines: Vec<Line> = if fits {
                qr.lines().map(|l| Line::raw(l.to_string())).collect()
            } else {
                vec![Line::from(Span::styled(
                    "(too short for the QR code: enlarge the terminal, or type the secret)",
                    t.dim(),
                ))]
            };
            lines.push(Line::raw(""));
            lines.push(Line::from(vec![
                Span::styled("or type the secret: ", t.dim()),
                Span::styled(secret.clone(), t.accent()),
            ]));
            lines.push(Line::from(vec![
                Span::styled("code from your app: ", t.dim()),
                Span::raw(code.clone()),
                Span::styled("▏", t.accent()),
            ]));
            lines.push(Line::from(Span::styled(
                "enter confirms · esc cancels",
                t.dim(),
            )));
            let height = (lines.len() as u16 + 2).min(area.height);
            let rect = centered(area, 72, height);
            frame.render_widget(Clear, rect);
            frame.render_widget(
                Paragraph::new(lines).block(panel(
                    app,
                    "Two-factor · scan with your authenticator app".into(),
                    true,
                )),
                rect,
            );
        }
        Overlay::Reveal { title, secret } => {
            let rect = centered(area, 84, 7);
            frame.render_widget(Clear, rect);
            let lines = vec![
                Line::from(Span::styled(
                    "Copy it now: it is not stored and cannot be shown again.",
                    t.dim(),
                )),
                Line::raw(""),
                Line::from(Span::styled(secret.clone(), t.accent())),
                Line::raw(""),
                Line::from(Span::styled("any key closes", t.dim())),
            ];
            frame.render_widget(
                Paragraph::new(lines)
                    .wrap(ratatui::widgets::Wrap { trim: false })
                    .block(panel(app, title.clone(), true)),
                rect,
            );
        }
        Overlay::Editor(editor) => {
            // The widget keeps its block in itself; a copy takes this frame's.
            let mut editor = (**editor).clone();
            editor.draw(t, frame, area);
        }
        Overlay::Conflict {
            current,
            mine,
            retry,
        } => {
            let theirs = match &**retry {
                tack_protocol::Request::UpdateIssue { patch, .. }
                    if patch.description.is_some() =>
                {
                    current.description.clone()
                }
                _ => current.title.clone(),
            };
            let rect = centered(area, 70, 11);
            frame.render_widget(Clear, rect);
            let lines = vec![
                Line::from(Span::styled(
                    format!("{} changed while you were editing it", current.key),
                    t.error(),
                )),
                Line::raw(""),
                Line::from(vec![
                    Span::styled("theirs  ", t.dim()),
                    Span::raw(line(&theirs, 58)),
                ]),
                Line::from(vec![
                    Span::styled("yours   ", t.dim()),
                    Span::raw(line(mine, 58)),
                ]),
                Line::raw(""),
                Line::from(vec![
                    Span::styled(" r ", t.accent()),
                    Span::raw("reload theirs, drop yours"),
                ]),
                Line::from(vec![
                    Span::styled(" o ", t.accent()),
                    Span::raw("overwrite theirs with yours"),
                ]),
                Line::from(vec![
                    Span::styled(" k ", t.accent()),
                    Span::raw("reload theirs and keep yours as a comment"),
                ]),
            ];
            frame.render_widget(
                Paragraph::new(lines).block(panel(app, "Conflict".into(), true)),
                rect,
            );
        }
        Overlay::Search {
            text,
            hits,
            selected,
        } => {
            let lines: usize = hits
                .iter()
                .map(|h| if h.field == "title" { 1 } else { 2 })
                .sum();
            let rows = (lines as u16).clamp(2, area.height.saturating_sub(5).max(2));
            let rect = centered(area, 96, rows + 4);
            frame.render_widget(Clear, rect);
            let block = panel(
                app,
                "Find · words in titles, descriptions and comments".into(),
                true,
            );
            let inner = block.inner(rect);
            frame.render_widget(block, rect);
            let [input, list] =
                Layout::vertical([Constraint::Length(2), Constraint::Min(1)]).areas(inner);
            let prompt = Line::from(vec![
                Span::styled("› ", t.accent()),
                Span::raw(line(text, 80)),
                Span::styled("▏", t.accent()),
            ]);
            let status = if text.trim().is_empty() {
                "type to search · enter opens · esc closes".to_string()
            } else {
                format!("{} found · enter opens · esc closes", hits.len())
            };
            frame.render_widget(
                Paragraph::new(vec![prompt, Line::from(Span::styled(status, t.dim()))]),
                input,
            );
            let width = list.width.saturating_sub(2) as usize;
            let items: Vec<ListItem> = hits
                .iter()
                .map(|hit| {
                    let mut snippet = Vec::new();
                    let base = if hit.field == "title" {
                        t.text()
                    } else {
                        t.dim()
                    };
                    let chars: Vec<char> = plain(&hit.snippet).chars().collect();
                    let mut at = 0usize;
                    for (s, e) in &hit.highlights {
                        let (s, e) = (*s as usize, (*e as usize).min(chars.len()));
                        if s < at || s >= chars.len() {
                            continue;
                        }
                        snippet.push(Span::styled(chars[at..s].iter().collect::<String>(), base));
                        snippet.push(Span::styled(
                            chars[s..e].iter().collect::<String>(),
                            t.accent().add_modifier(ratatui::style::Modifier::BOLD),
                        ));
                        at = e;
                    }
                    snippet.push(Span::styled(
                        chars[at.min(chars.len())..].iter().collect::<String>(),
                        base,
                    ));
                    let key = Span::styled(format!(" {:<10}", hit.issue.key), t.accent());
                    // A match in the title is marked in the title itself; one elsewhere gets
                    // a line of its own under the title.
                    if hit.field == "title" {
                        ListItem::new(Line::from(
                            std::iter::once(key).chain(snippet).collect::<Vec<_>>(),
                        ))
                    } else {
                        ListItem::new(vec![
                            Line::from(vec![
                                key,
                                Span::raw(line(&hit.issue.title, width.saturating_sub(24))),
                                Span::styled(format!("  in the {}", hit.field), t.dim()),
                            ]),
                            Line::from(
                                std::iter::once(Span::raw("   "))
                                    .chain(snippet)
                                    .collect::<Vec<_>>(),
                            ),
                        ])
                    }
                })
                .collect();
            let mut state =
                ListState::default().with_selected((!hits.is_empty()).then_some(*selected));
            frame.render_stateful_widget(
                List::new(items).highlight_style(t.selected()),
                list,
                &mut state,
            );
        }
        Overlay::Palette { query, selected } => {
            let found = crate::palette::matching(&app.palette_items(), query);
            let rows = (found.len() as u16).clamp(1, area.height.saturating_sub(5).max(1));
            let rect = centered(area, 64, rows + 4);
            frame.render_widget(Clear, rect);
            let block = panel(app, "Commands".into(), true);
            let inner = block.inner(rect);
            frame.render_widget(block, rect);
            let [input, list] =
                Layout::vertical([Constraint::Length(2), Constraint::Min(1)]).areas(inner);
            let prompt = Line::from(vec![
                Span::styled("› ", t.accent()),
                Span::raw(line(query, 56)),
                Span::styled("▏", t.accent()),
            ]);
            frame.render_widget(Paragraph::new(vec![prompt, Line::raw("")]), input);
            let items: Vec<ListItem> = found
                .iter()
                .map(|item| {
                    ListItem::new(Line::from(vec![
                        Span::raw(format!("{:<46}", line(&item.label, 46))),
                        Span::styled(item.keys.clone(), t.dim()),
                    ]))
                })
                .collect();
            let mut state = ListState::default().with_selected(Some(*selected));
            frame.render_stateful_widget(
                List::new(items).highlight_style(t.selected()),
                list,
                &mut state,
            );
        }
        Overlay::Pick {
            options, selected, ..
        } => {
            let items: Vec<ListItem> = options
                .iter()
                .map(|(_, label)| ListItem::new(line(label, 40)))
                .collect();
            let rect = centered(area, 44, (options.len() as u16 + 2).min(area.height));
            frame.render_widget(Clear, rect);
            let mut state = ListState::default().with_selected(Some(*selected));
            frame.render_stateful_widget(
                List::new(items)
                    .block(panel(app, "Choose · enter".into(), true))
                    .highlight_style(t.selected()),
                rect,
                &mut state,
            );
        }
    }
}
