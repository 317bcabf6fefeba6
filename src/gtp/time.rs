//! GTP time controls (`time_settings`, `kgs-time_settings`, `time_left`)
//! and the search time they leave for one move.
//!
//! Systems: none (no limit: the engine's fixed simulations), absolute
//! (sudden death), Canadian byo-yomi (after the main time, `stones` moves
//! in every period of `period` seconds) and Japanese byo-yomi (`periods`
//! periods of `period` seconds, one used up by each move that overruns it).

/// A time system, as the controller set it (seconds).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TimeSystem {
    /// No limit: moves take the engine's fixed number of simulations.
    None,
    Absolute {
        main: f64,
    },
    Canadian {
        main: f64,
        period: f64,
        stones: u32,
    },
    Byoyomi {
        main: f64,
        period: f64,
        periods: u32,
    },
}

impl TimeSystem {
    /// GTP's `time_settings main byo_yomi_time byo_yomi_stones`: byo-yomi
    /// time 0 is absolute time; stones 0 with byo-yomi time > 0 means no
    /// limit (the GTP specification).
    pub fn from_gtp(main: f64, byo: f64, stones: u32) -> TimeSystem {
        if byo <= 0.0 {
            TimeSystem::Absolute { main }
        } else if stones == 0 {
            TimeSystem::None
        } else {
            TimeSystem::Canadian {
                main,
                period: byo,
                stones,
            }
        }
    }

    /// `kgs-time_settings none | absolute M | byoyomi M P N | canadian M P S`.
    pub fn from_kgs(args: &[String]) -> Result<TimeSystem, String> {
        let num = |i: usize| -> Result<f64, String> {
            args.get(i)
                .and_then(|t| t.parse::<f64>().ok())
                .filter(|x| x.is_finite() && *x >= 0.0)
                .ok_or_else(|| "syntax error".to_string())
        };
        let count = |i: usize| -> Result<u32, String> {
            args.get(i)
                .and_then(|t| t.parse::<u32>().ok())
                .ok_or_else(|| "syntax error".to_string())
        };
        let want = |n: usize| -> Result<(), String> {
            if args.len() == n {
                Ok(())
            } else {
                Err("syntax error".into())
            }
        };
        match args.first().map(|s| s.to_ascii_lowercase()).as_deref() {
            Some("none") => want(1).map(|()| TimeSystem::None),
            Some("absolute") => {
                want(2)?;
                Ok(TimeSystem::Absolute { main: num(1)? })
            }
            Some("byoyomi") => {
                want(4)?;
                Ok(TimeSystem::Byoyomi {
                    main: num(1)?,
                    period: num(2)?,
                    periods: count(3)?,
                })
            }
            Some("canadian") => {
                want(4)?;
                let (main, period, stones) = (num(1)?, num(2)?, count(3)?);
                if stones == 0 {
                    return Err("syntax error (canadian byo-yomi needs at least one stone)".into());
                }
                Ok(TimeSystem::Canadian {
                    main,
                    period,
                    stones,
                })
            }
            _ => Err("syntax error".into()),
        }
    }
}

/// One side's clock.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Clock {
    pub system: TimeSystem,
    /// Main time left (seconds).
    pub main_left: f64,
    /// In overtime: time left in the current Canadian period, or the length
    /// of a Japanese period.
    pub period_left: f64,
    /// In overtime: stones left in the Canadian period, or Japanese periods
    /// left.
    pub stones_left: u32,
    /// Whether the main time is used up.
    pub overtime: bool,
}

impl Clock {
    /// A fresh clock of `system`.
    pub fn new(system: TimeSystem) -> Clock {
        let mut c = Clock {
            system,
            main_left: 0.0,
            period_left: 0.0,
            stones_left: 0,
            overtime: false,
        };
        match system {
            TimeSystem::None => {}
            TimeSystem::Absolute { main } => c.main_left = main,
            TimeSystem::Canadian {
                main,
                period,
                stones,
            } => {
                c.main_left = main;
                c.period_left = period;
                c.stones_left = stones;
                c.overtime = main <= 0.0;
            }
            TimeSystem::Byoyomi {
                main,
                period,
                periods,
            } => {
                c.main_left = main;
                c.period_left = period;
                c.stones_left = periods;
                c.overtime = main <= 0.0;
            }
        }
        c
    }

    /// GTP's `time_left time stones`: stones 0 is main time left, else the
    /// overtime period's time and stones (Japanese: periods) left.
    pub fn set_left(&mut self, time: f64, stones: u32) {
        if stones == 0 {
            self.main_left = time;
            self.overtime = false;
            return;
        }
        self.main_left = 0.0;
        self.overtime = true;
        // Canadian: the period's time and stones left; Japanese (KGS): the
        // current period's time and the periods left.
        self.period_left = time;
        self.stones_left = stones;
    }

    /// Takes `used` seconds of this side's time for one move (the engine's
    /// own bookkeeping between two `time_left`).
    pub fn spend(&mut self, used: f64) {
        match self.system {
            TimeSystem::None => {}
            TimeSystem::Absolute { .. } => self.main_left = (self.main_left - used).max(0.0),
            TimeSystem::Canadian { period, stones, .. } => {
                let Some(used) = self.spend_main(used) else {
                    return;
                };
                self.period_left = (self.period_left - used).max(0.0);
                self.stones_left = self.stones_left.saturating_sub(1);
                if self.stones_left == 0 {
                    self.period_left = period;
                    self.stones_left = stones;
                }
            }
            TimeSystem::Byoyomi { period, .. } => {
                let Some(used) = self.spend_main(used) else {
                    return;
                };
                if used > period {
                    self.stones_left = self.stones_left.saturating_sub(1);
                }
                self.period_left = period;
            }
        }
    }

    /// Takes `used` from the main time; the part of it that ran into
    /// overtime (entering overtime if the main time ran out), or `None`
    /// when the main time covered it.
    fn spend_main(&mut self, used: f64) -> Option<f64> {
        if self.overtime {
            return Some(used);
        }
        if used < self.main_left {
            self.main_left -= used;
            return None;
        }
        let over = used - self.main_left;
        self.main_left = 0.0;
        self.overtime = true;
        Some(over)
    }

    /// Seconds to search the next move, `None` without a limit. `moves_left`
    /// estimates this side's moves still to play; `lag` is kept back for
    /// the network and the controller.
    pub fn budget(&self, moves_left: f64, lag: f64) -> Option<f64> {
        let moves_left = moves_left.max(1.0);
        let overtime_per_move = match self.system {
            TimeSystem::None => return None,
            TimeSystem::Absolute { .. } => 0.0,
            TimeSystem::Canadian { .. } if self.overtime => {
                return Some(spare(
                    self.period_left / self.stones_left.max(1) as f64,
                    lag,
                ))
            }
            TimeSystem::Byoyomi { .. } if self.overtime => {
                return Some(spare(self.period_left, lag))
            }
            TimeSystem::Canadian { period, stones, .. } => period / stones.max(1) as f64,
            TimeSystem::Byoyomi { period, .. } => period,
        };
        Some(spare(
            self.main_left / moves_left + 0.8 * overtime_per_move,
            lag,
        ))
    }
}

/// `t` less the lag, never below a twentieth of a second.
fn spare(t: f64, lag: f64) -> f64 {
    (t - lag).max(0.05)
}

/// The moves one side still has to play in a game on a `size` x `size`
/// board after `played` moves of both sides (a Go game lasts about 0.8 x
/// the points; at least 10 more).
pub fn moves_left(size: usize, played: usize) -> f64 {
    let expected = 0.8 * (size * size) as f64;
    ((expected - played as f64) / 2.0).max(10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn gtp_and_kgs_settings_parse() {
        assert_eq!(
            TimeSystem::from_gtp(300.0, 0.0, 0),
            TimeSystem::Absolute { main: 300.0 }
        );
        assert_eq!(TimeSystem::from_gtp(0.0, 1.0, 0), TimeSystem::None);
        assert_eq!(
            TimeSystem::from_gtp(60.0, 30.0, 5),
            TimeSystem::Canadian {
                main: 60.0,
                period: 30.0,
                stones: 5
            }
        );
        assert_eq!(TimeSystem::from_kgs(&args("none")), Ok(TimeSystem::None));
        assert_eq!(
            TimeSystem::from_kgs(&args("byoyomi 600 30 5")),
            Ok(TimeSystem::Byoyomi {
                main: 600.0,
                period: 30.0,
                periods: 5
            })
        );
        for bad in [
            "",
            "absolute",
            "absolute x",
            "canadian 1 2",
            "canadian 60 30 0",
            "fischer 1 2",
            "byoyomi 1 2 -3",
            "none 5",
        ] {
            assert!(TimeSystem::from_kgs(&args(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn budgets_follow_the_clock() {
        let c = Clock::new(TimeSystem::Absolute { main: 300.0 });
        assert!((c.budget(30.0, 0.0).unwrap() - 10.0).abs() < 1e-9);
        assert_eq!(Clock::new(TimeSystem::None).budget(30.0, 0.5), None);
        // Canadian overtime: the period shared by its stones.
        let mut c = Clock::new(TimeSystem::Canadian {
            main: 0.0,
            period: 50.0,
            stones: 5,
        });
        assert!((c.budget(30.0, 0.0).unwrap() - 10.0).abs() < 1e-9);
        c.set_left(20.0, 4);
        assert!((c.budget(30.0, 1.0).unwrap() - 4.0).abs() < 1e-9);
        // Japanese overtime: a period a move.
        let mut c = Clock::new(TimeSystem::Byoyomi {
            main: 10.0,
            period: 5.0,
            periods: 3,
        });
        c.spend(12.0);
        assert!(c.overtime);
        assert_eq!(c.stones_left, 3, "2 s into the period: none used up");
        assert!((c.budget(30.0, 0.5).unwrap() - 4.5).abs() < 1e-9);
        c.spend(6.0);
        assert_eq!(c.stones_left, 2);
        // Never below 0.05 s.
        let c = Clock::new(TimeSystem::Absolute { main: 0.0 });
        assert_eq!(c.budget(30.0, 1.0), Some(0.05));
    }

    #[test]
    fn canadian_periods_renew_after_their_stones() {
        let mut c = Clock::new(TimeSystem::Canadian {
            main: 10.0,
            period: 30.0,
            stones: 2,
        });
        c.spend(4.0);
        assert!(!c.overtime);
        assert!((c.main_left - 6.0).abs() < 1e-9);
        c.spend(8.0); // 6 s of main time, 2 s of the period
        assert!(c.overtime);
        assert_eq!(c.stones_left, 1);
        assert!((c.period_left - 28.0).abs() < 1e-9);
        c.spend(5.0); // the period's last stone: a new period
        assert_eq!(c.stones_left, 2);
        assert!((c.period_left - 30.0).abs() < 1e-9);
    }
}
