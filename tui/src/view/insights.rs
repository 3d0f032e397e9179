//! A project's figures as charts: created vs closed per week, cycle time, work in progress and
//! a burndown.

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Bar, BarChart, BarGroup, Chart, Dataset, GraphType, Paragraph};

use super::panel;
use crate::app::App;

pub fn draw_insights(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let Some(i) = &app.insights else {
        frame.render_widget(
            Paragraph::new("…").block(panel(app, "Insights".into(), true)),
            area,
        );
        return;
    };
    let [top, bottom] =
        Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    let [weeks_area, cycle_area] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(top);
    let [wip_area, burn_area] =
        Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(bottom);

    // As many recent weeks as fit, two bars each.
    let fit = (weeks_area.width.saturating_sub(2) / 6).max(1) as usize;
    let recent = &i.weeks[i.weeks.len().saturating_sub(fit)..];
    let groups: Vec<BarGroup> = recent
        .iter()
        .map(|w| {
            BarGroup::default()
                .label(Line::from(w.week.get(5..).unwrap_or_default().to_string()))
                .bars(&[
                    Bar::default().value(u64::from(w.created)).style(t.accent()),
                    Bar::default().value(u64::from(w.closed)).style(t.ok()),
                ])
        })
        .collect();
    let mut weeks = BarChart::default()
        .block(panel(app, "Created / closed per week".into(), false))
        .bar_width(2)
        .bar_gap(0)
        .group_gap(2);
    for group in groups {
        weeks = weeks.data(group);
    }
    frame.render_widget(weeks, weeks_area);

    let cycle_bars: Vec<Bar> = i
        .cycle_time
        .iter()
        .map(|b| {
            Bar::default()
                .value(u64::from(b.count))
                .label(Line::from(b.label.clone()))
                .style(t.accent())
        })
        .collect();
    let median = i
        .cycle_time_median_hours
        .map_or("no issue done yet".into(), |h| {
            format!("median {:.1} days", f64::from(h) / 24.0)
        });
    frame.render_widget(
        BarChart::default()
            .block(panel(app, format!("Cycle time · {median}"), false))
            .direction(Direction::Horizontal)
            .bar_width(1)
            .bar_gap(0)
            .data(BarGroup::default().bars(&cycle_bars)),
        cycle_area,
    );

    let wip_bars: Vec<Bar> = i
        .work_in_progress
        .iter()
        .map(|b| {
            Bar::default()
                .value(u64::from(b.count))
                .label(Line::from(b.label.clone()))
                .style(t.state(tack_protocol::StateCategory::Started))
        })
        .collect();
    frame.render_widget(
        BarChart::default()
            .block(panel(app, "Work in progress".into(), false))
            .direction(Direction::Horizontal)
            .bar_width(1)
            .bar_gap(0)
            .data(BarGroup::default().bars(&wip_bars)),
        wip_area,
    );

    let points: Vec<(f64, f64)> = i
        .burndown
        .iter()
        .enumerate()
        .map(|(n, d)| (n as f64, f64::from(d.open)))
        .collect();
    let top_y = i.burndown.iter().map(|d| d.open).max().unwrap_or(0).max(1);
    let first = i
        .burndown
        .first()
        .map(|d| d.day.clone())
        .unwrap_or_default();
    let last = i.burndown.last().map(|d| d.day.clone()).unwrap_or_default();
    let title = if i.burndown_query.is_empty() {
        "Burndown · open issues".to_string()
    } else {
        format!("Burndown · {}", crate::text::line(&i.burndown_query, 40))
    };
    let chart = Chart::new(vec![
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(t.accent())
            .data(&points),
    ])
    .block(panel(app, title, false))
    .x_axis(
        Axis::default()
            .style(t.dim())
            .bounds([0.0, points.len().saturating_sub(1).max(1) as f64])
            .labels([Span::raw(first), Span::raw(last)]),
    )
    .y_axis(
        Axis::default()
            .style(t.dim())
            .bounds([0.0, f64::from(top_y)])
            .labels([Span::raw("0"), Span::raw(top_y.to_string())]),
    );
    frame.render_widget(chart, burn_area);
}
