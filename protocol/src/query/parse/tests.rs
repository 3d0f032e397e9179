use proptest::prelude::*;

use super::*;
use crate::model::StateCategory;
use crate::query::Flag;

fn p(text: &str) -> Query {
    parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn err(text: &str) -> ParseError {
    parse(text).expect_err(text)
}

fn word(w: &str) -> Value {
    Value::Word(w.into())
}

fn m(key: Key, values: Vec<Value>) -> Expr {
    Expr::Term(Term::Match { key, values })
}

#[test]
fn every_construct_parses() {
    assert_eq!(p(""), Query::default());
    assert_eq!(
        p("crash").expr,
        Some(Expr::Term(Term::Text("crash".into())))
    );
    assert_eq!(
        p("\"two words\"").expr,
        Some(Expr::Term(Term::Text("two words".into())))
    );
    assert_eq!(
        p("label:bug,regression").expr,
        Some(m(Key::Label, vec![word("bug"), word("regression")]))
    );
    assert_eq!(
        p("assignee:@me").expr,
        Some(m(Key::Assignee, vec![Value::Me]))
    );
    assert_eq!(
        p("priority:>=high").expr,
        Some(Expr::Term(Term::Compare {
            key: Key::Priority,
            cmp: Cmp::Ge,
            value: word("high")
        }))
    );
    assert_eq!(
        p("due:<=@today+3d").expr,
        Some(Expr::Term(Term::Compare {
            key: Key::Due,
            cmp: Cmp::Le,
            value: Value::Today(3)
        }))
    );
    assert_eq!(
        p("created:>2w").expr,
        Some(Expr::Term(Term::Compare {
            key: Key::Created,
            cmp: Cmp::Gt,
            value: Value::Ago(14)
        }))
    );
    assert_eq!(
        p("estimate:1..5").expr,
        Some(Expr::Term(Term::Range {
            key: Key::Estimate,
            from: word("1"),
            to: word("5")
        }))
    );
    assert_eq!(
        p("due:2026-11-01..@today-1w").expr,
        Some(Expr::Term(Term::Range {
            key: Key::Due,
            from: word("2026-11-01"),
            to: Value::Today(-7)
        }))
    );
    assert_eq!(
        p("no:assignee").expr,
        Some(Expr::Term(Term::No(Key::Assignee)))
    );
    assert_eq!(p("has:due").expr, Some(Expr::Term(Term::Has(Key::Due))));
    assert_eq!(p("is:open").expr, Some(Expr::Term(Term::Is(Flag::Open))));
    assert_eq!(
        p("is:started").expr,
        Some(Expr::Term(Term::Is(Flag::Category(StateCategory::Started))))
    );
    assert_eq!(
        p("status:\"In Progress\"").expr,
        Some(m(Key::Status, vec![Value::Quoted("In Progress".into())]))
    );
    assert_eq!(
        p("blocked-by:TACK-3").expr,
        Some(m(Key::BlockedBy, vec![word("TACK-3")]))
    );
}

#[test]
fn and_or_not_and_parentheses_nest_as_written() {
    let open = Expr::Term(Term::Is(Flag::Open));
    let urgent = m(Key::Priority, vec![word("urgent")]);
    let blocked = Expr::Term(Term::Is(Flag::Blocked));
    let done = m(Key::Status, vec![word("done")]);
    assert_eq!(
        p("(priority:urgent OR is:blocked) -status:done").expr,
        Some(Expr::And(vec![
            Expr::Or(vec![urgent.clone(), blocked.clone()]),
            Expr::Not(Box::new(done.clone())),
        ]))
    );
    assert_eq!(
        p("is:open priority:urgent OR is:blocked").expr,
        Some(Expr::Or(vec![
            Expr::And(vec![open.clone(), urgent.clone()]),
            blocked.clone()
        ])),
        "AND binds tighter than OR"
    );
    assert_eq!(
        p("NOT (is:open OR is:blocked)").expr,
        Some(Expr::Not(Box::new(Expr::Or(vec![open.clone(), blocked]))))
    );
    assert_eq!(
        p("(is:open priority:urgent) status:done").expr,
        Some(Expr::And(vec![open, urgent, done])),
        "nested ANDs flatten"
    );
    assert_eq!(p("a AND b"), p("a b"), "AND is the same as a space");
}

#[test]
fn sorts_are_taken_from_anywhere() {
    let q = p("sort:priority-desc is:open sort:due");
    assert_eq!(
        q.sort,
        vec![
            Sort {
                key: Key::Priority,
                desc: true
            },
            Sort {
                key: Key::Due,
                desc: false
            }
        ]
    );
    assert_eq!(q.expr, Some(Expr::Term(Term::Is(Flag::Open))));
    assert_eq!(
        p("is:open assignee:@me due:<=@today+3d sort:priority-desc").to_string(),
        "is:open assignee:@me due:<=@today+3d sort:priority-desc"
    );
}

#[test]
fn mistakes_point_at_their_column_with_a_suggestion() {
    let e = err("is:open asignee:bob");
    assert_eq!(e.column, 9);
    assert_eq!(e.suggestion.as_deref(), Some("assignee"));
    let e = err("priority:hgh");
    assert_eq!(e.column, 10);
    assert_eq!(e.suggestion.as_deref(), Some("high"));
    let e = err("is:opne");
    assert_eq!(e.suggestion.as_deref(), Some("is:open"));
    assert!(err("due:tomorrow").message.contains("YYYY-MM-DD"));
    assert!(err("label:>bug").message.contains("no order"));
    assert!(err("(is:open").message.contains("never closed"));
    assert!(err("is:open)").message.contains("without its '('"));
    assert_eq!(err("is:open OR").column, 11);
    assert!(err("\"unclosed").message.contains("never closed"));
    assert!(err("sort:mentions").message.contains("cannot sort"));
    assert!(err("project:@me").message.contains("not about people"));
    assert!(err("estimate:lots").message.contains("number"));
    let shown = err("asignee:bob").to_string();
    assert!(
        shown.starts_with("column 1:") && shown.contains("did you mean 'assignee'"),
        "{shown}"
    );
}

fn plain_word() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,8}"
}

fn value_for(key: Key) -> BoxedStrategy<Value> {
    match key {
        Key::Priority => prop::sample::select(vec!["none", "low", "medium", "high", "urgent"])
            .prop_map(|w| Value::Word(w.into()))
            .boxed(),
        Key::Estimate => (0u32..100).prop_map(|n| Value::Word(n.to_string())).boxed(),
        k if k.is_date() => prop_oneof![
            (-30i64..30).prop_map(Value::Today),
            (0i64..60).prop_map(Value::Ago),
            (2000u32..2100, 1u32..13, 1u32..29)
                .prop_map(|(y, m, d)| Value::Word(format!("{y:04}-{m:02}-{d:02}"))),
        ]
        .boxed(),
        Key::Assignee | Key::Author | Key::Mentions | Key::Commenter | Key::Watcher => {
            prop_oneof![Just(Value::Me), plain_word().prop_map(Value::Word)].boxed()
        }
        _ => prop_oneof![
            plain_word().prop_map(Value::Word),
            "[ -~]{1,12}".prop_map(Value::Quoted),
        ]
        .boxed(),
    }
}

fn term_strategy() -> impl Strategy<Value = Term> {
    let key = prop::sample::select(KEYS.iter().map(|(_, k)| *k).collect::<Vec<_>>());
    prop_oneof![
        key.clone()
            .prop_flat_map(|k| prop::collection::vec(value_for(k), 1..3)
                .prop_map(move |values| Term::Match { key: k, values })),
        key.clone()
            .prop_filter("ordered", |k| k.is_ordered())
            .prop_flat_map(|k| (any::<Cmp>(), value_for(k))
                .prop_map(move |(cmp, value)| Term::Compare { key: k, cmp, value })),
        key.clone()
            .prop_filter("ordered", |k| k.is_ordered())
            .prop_flat_map(|k| (value_for(k), value_for(k))
                .prop_map(move |(from, to)| Term::Range { key: k, from, to })),
        key.clone().prop_map(Term::No),
        key.prop_map(Term::Has),
        prop::sample::select(FLAGS.iter().map(|(_, f)| *f).collect::<Vec<_>>()).prop_map(Term::Is),
        prop_oneof![plain_word(), "[ -~]{1,12}"].prop_map(Term::Text),
    ]
}

fn expr_strategy() -> impl Strategy<Value = Expr> {
    term_strategy()
        .prop_map(Expr::Term)
        .prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 2..4).prop_map(|all| join(all, false)),
                prop::collection::vec(inner.clone(), 2..4).prop_map(|all| join(all, true)),
                inner.prop_map(|e| Expr::Not(Box::new(e))),
            ]
        })
}

fn query_strategy() -> impl Strategy<Value = Query> {
    let sortable: Vec<Key> = KEYS
        .iter()
        .map(|(_, k)| *k)
        .filter(|k| k.is_ordered() || matches!(k, Key::Project | Key::Status))
        .collect();
    (
        prop::option::of(expr_strategy()),
        prop::collection::vec(
            (prop::sample::select(sortable), any::<bool>())
                .prop_map(|(key, desc)| Sort { key, desc }),
            0..3,
        ),
    )
        .prop_map(|(expr, sort)| Query { expr, sort })
}

proptest! {
    #[test]
    fn printing_and_parsing_again_gives_the_same_query(query in query_strategy()) {
        let text = query.to_string();
        let again = parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(again, query, "{}", text);
    }

    #[test]
    fn any_text_parses_or_fails_cleanly(text in "\\PC{0,40}") {
        if let Err(e) = parse(&text) {
            prop_assert!(e.column >= 1 && e.column <= text.chars().count() + 1, "{e:?} for {text:?}");
        }
    }
}
