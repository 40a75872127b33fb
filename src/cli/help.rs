//! The manual inside the CLI: each command's examples and the exit codes it can return.
//!
//! One [`Page`] per command feeds both `fleet COMMAND --help` (the `Examples:` and `Exit
//! codes:` sections after the options, as `gh` prints them) and the EXAMPLES and EXIT
//! STATUS sections of the man pages `fleet man` writes. An exit code is listed only where the
//! command's code can return it; `tests/it/completions.rs` runs every example's `fleet`
//! invocations through the parser.

use clap::builder::StyledStr;

/// A command's examples and exit codes.
#[derive(Debug)]
pub struct Page {
    /// What the example does, and the command line (`$ ` is added when printed).
    pub examples: &'static [(&'static str, &'static str)],
    /// Each exit code the command can return, and what it means there (`\n` starts an
    /// indented continuation line: `--help` is not wrapped below 80 columns).
    pub exits: &'static [(u8, &'static str)],
}

/// `fleet` itself: the overview.
pub static FLEET: Page = Page {
    examples: &[
        (
            "Check fleet.toml, then see what apply would change",
            "fleet validate && fleet plan",
        ),
        (
            "Save a plan, review it, then apply exactly that plan",
            "fleet plan --out plan.json && fleet apply plan.json",
        ),
    ],
    exits: &[
        (0, "success; no changes"),
        (1, "an error, a command-line mistake included"),
        (
            2,
            "changes present (plan --detailed-exitcode, drift, fmt --check,\nstatus --exit-code)",
        ),
        (3, "the saved plan is stale: nothing was written"),
        (4, "the apply lock is held by another apply"),
        (5, "apply partially failed or was interrupted"),
        (6, "incomplete: some cluster could not be read"),
    ],
};

pub static VALIDATE: Page = Page {
    examples: &[
        ("Check ./fleet.toml offline", "fleet validate"),
        (
            "Check another file and get every diagnostic as JSON (for an editor or a bot)",
            "fleet validate -f prod/fleet.toml --output json",
        ),
    ],
    exits: &[
        (
            0,
            "the file is valid (its warnings are printed but do not fail it)",
        ),
        (
            1,
            "the file has errors or cannot be read, or a command-line mistake",
        ),
    ],
};

pub static FMT: Page = Page {
    examples: &[
        ("Rewrite ./fleet.toml in canonical form", "fleet fmt"),
        (
            "In CI: print the diff and fail if the file is not formatted",
            "fleet fmt --check -f prod/fleet.toml",
        ),
    ],
    exits: &[
        (0, "the file is formatted (it already was, or now is)"),
        (
            1,
            "the file cannot be read, parsed or written, or a command-line mistake",
        ),
        (
            2,
            "with --check: the file is not formatted (the diff is on stdout)",
        ),
    ],
};

pub static PLAN: Page = Page {
    examples: &[
        ("See what apply would change", "fleet plan"),
        (
            "Save the plan for `fleet apply PLANFILE`",
            "fleet plan --out plan.json",
        ),
        (
            "In CI: a Markdown plan for one WEC, exit 2 when there are changes",
            "fleet plan --detailed-exitcode --output markdown --target wec/cluster1",
        ),
        (
            "Include deregistering WECs gone from fleet.toml, at most two",
            "fleet plan --prune --max-deregister 2",
        ),
    ],
    exits: &[
        (0, "no changes (or changes, without --detailed-exitcode)"),
        (1, "an error, or a command-line mistake"),
        (2, "with --detailed-exitcode: changes present"),
        (
            6,
            "incomplete: some cluster could not be read (the plan is not saved)",
        ),
    ],
};

pub static APPLY: Page = Page {
    examples: &[
        (
            "Show the plan and apply it once you answer `yes`",
            "fleet apply",
        ),
        (
            "Apply exactly a plan saved and reviewed earlier",
            "fleet apply plan.json",
        ),
        (
            "In CI: apply to one WEC, wait up to 5 minutes for another apply's lock",
            "fleet apply --auto-approve --target wec/cluster1 --lock-timeout 5m",
        ),
        (
            "A JSON report of every object's outcome on stdout",
            "fleet apply plan.json --output json",
        ),
    ],
    exits: &[
        (0, "applied, or there was nothing to change"),
        (
            1,
            "an error, a command-line mistake, or approval declined: nothing written",
        ),
        (
            3,
            "the saved plan is stale, or the live state changed while you approved:\nnothing was written",
        ),
        (4, "the apply lock is held by another apply"),
        (
            5,
            "partially failed (a write failed or a WEC was unreadable) or interrupted",
        ),
        (
            6,
            "incomplete: the ITS (or, for a saved plan, any cluster) could not be read",
        ),
    ],
};

pub static SHOW: Page = Page {
    examples: &[
        ("Render a saved plan as plan did", "fleet show plan.json"),
        (
            "A Markdown view of it, for a pull-request comment",
            "fleet show plan.json --output markdown > plan.md",
        ),
    ],
    exits: &[
        (0, "the plan was rendered"),
        (
            1,
            "the file cannot be read or is not a plan this fleet build made,\nor a command-line mistake",
        ),
    ],
};

pub static DRIFT: Page = Page {
    examples: &[
        ("Report out-of-band changes only", "fleet drift"),
        (
            "In a scheduled CI job: a Markdown report, exit 2 when there is drift",
            "fleet drift --output markdown",
        ),
        (
            "One WEC's drift as JSON",
            "fleet drift --output json --target wec/cluster1",
        ),
    ],
    exits: &[
        (0, "no drift"),
        (1, "an error, or a command-line mistake"),
        (
            2,
            "drift present (including ManagedClusters fleet does not manage)",
        ),
        (6, "incomplete: some cluster could not be read"),
    ],
};

pub static STATUS: Page = Page {
    examples: &[
        ("One row per WEC", "fleet status"),
        (
            "More columns, only the WECs labelled env=prod",
            "fleet status --wide -l env=prod",
        ),
        (
            "A monitoring probe: exit 2 unless every WEC is healthy and in sync",
            "fleet status --exit-code",
        ),
        (
            "Refresh every 10 seconds until interrupted",
            "fleet status --watch --interval 10s",
        ),
    ],
    exits: &[
        (
            0,
            "the status was printed (with --exit-code: every WEC is healthy and in sync)",
        ),
        (1, "an error, or a command-line mistake"),
        (
            2,
            "with --exit-code: some WEC is not healthy or not in sync",
        ),
        (6, "incomplete: some cluster could not be read"),
    ],
};

pub static GRAPH: Page = Page {
    examples: &[
        (
            "Draw the plan's dependency graph with Graphviz",
            "fleet graph | dot -Tsvg > plan.svg",
        ),
        (
            "Only one WEC's part of the plan",
            "fleet graph --target wec/cluster1",
        ),
    ],
    exits: &[
        (0, "the graph was printed"),
        (1, "an error, or a command-line mistake"),
        (6, "incomplete: some cluster could not be read"),
    ],
};

pub static IMPORT: Page = Page {
    examples: &[
        (
            "Start a fleet.toml from the ITS's ManagedClusters",
            "fleet import --its its1 > fleet.toml",
        ),
        (
            "Also import downsync RBAC from the WDS, with another kubeconfig",
            "fleet import --its its1 --wds wds1 --kubeconfig lab.kubeconfig > fleet.toml",
        ),
    ],
    exits: &[
        (0, "the fleet.toml was printed"),
        (1, "an error, or a command-line mistake"),
        (
            6,
            "incomplete: a WEC could not be read; the printed fleet.toml misses it",
        ),
    ],
};

pub static UNLOCK: Page = Page {
    examples: &[
        (
            "Clear the lock a cancelled CI run left (apply printed its id with exit 4)",
            "fleet unlock gh-7123456-2-a1b2c3d4",
        ),
        (
            "The same for the ITS of another fleet.toml",
            "fleet unlock -f prod/fleet.toml alice@laptop-a1b2c3d4",
        ),
    ],
    exits: &[
        (0, "the lock was cleared"),
        (
            1,
            "an error (LOCK_ID does not hold the lock, the ITS cannot be reached, …),\nor a command-line mistake",
        ),
    ],
};

pub static COMPLETIONS: Page = Page {
    examples: &[
        (
            "bash: load completions in every new shell",
            "fleet completions bash > ~/.local/share/bash-completion/completions/fleet",
        ),
        (
            "zsh: into a directory on $fpath (set before compinit in ~/.zshrc)",
            "fleet completions zsh > ~/.zfunc/_fleet",
        ),
        (
            "fish",
            "fleet completions fish > ~/.config/fish/completions/fleet.fish",
        ),
        (
            "PowerShell: add to your profile",
            "fleet completions powershell >> $PROFILE",
        ),
    ],
    exits: &[
        (0, "the script was printed"),
        (1, "a command-line mistake (an unknown shell)"),
    ],
};

pub static MAN: Page = Page {
    examples: &[
        (
            "Install the fleet(1) page",
            "fleet man > ~/.local/share/man/man1/fleet.1",
        ),
        (
            "Install a page per command too: fleet-plan(1), fleet-apply(1), …",
            "fleet man --dir ~/.local/share/man/man1",
        ),
        (
            "Read one command's page without installing it",
            "fleet man plan | man -l -",
        ),
    ],
    exits: &[
        (0, "the page was printed, or the pages written"),
        (
            1,
            "the pages cannot be written, or a command-line mistake (an unknown command)",
        ),
    ],
};

/// The page of `fleet` (`""`) or of one of its commands.
pub fn page(command: &str) -> Option<&'static Page> {
    Some(match command {
        "" | "fleet" => &FLEET,
        "validate" => &VALIDATE,
        "fmt" => &FMT,
        "plan" => &PLAN,
        "apply" => &APPLY,
        "show" => &SHOW,
        "drift" => &DRIFT,
        "status" => &STATUS,
        "graph" => &GRAPH,
        "import" => &IMPORT,
        "unlock" => &UNLOCK,
        "completions" => &COMPLETIONS,
        "man" => &MAN,
        _ => return None,
    })
}

impl Page {
    /// The text after a command's options in its `--help`, headed like clap's own sections.
    pub fn after_help(&self) -> StyledStr {
        StyledStr::from(self.sections())
    }

    fn sections(&self) -> String {
        let h = *clap::builder::Styles::default().get_header();
        let mut text = format!("{h}Examples:{h:#}\n");
        for (i, (what, run)) in self.examples.iter().enumerate() {
            if i > 0 {
                text.push('\n');
            }
            text.push_str(&format!("  # {what}\n  $ {run}\n"));
        }
        text.push_str(&format!("\n{h}Exit codes:{h:#}\n"));
        for (code, meaning) in self.exits {
            text.push_str(&format!("  {code}  {}\n", meaning.replace('\n', "\n     ")));
        }
        text.trim_end().to_owned()
    }
}

/// `fleet --help`'s text after the options: the overview's examples, every exit code, and
/// where to read more.
pub fn fleet_after_help() -> StyledStr {
    StyledStr::from(format!(
        "{}\n\nEach command's --help shows its examples and the exit codes it returns;\n\
         `fleet man` prints the manual page.",
        FLEET.sections()
    ))
}
