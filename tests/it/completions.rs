//! Shell completions, the man pages and the help as a manual: `fleet completions`, `fleet
//! man`, and every command's `--help` with its examples and exit codes.
//!
//! The scripts are loaded by the real shells and the pages rendered by groff and man. A
//! missing tool fails the test, naming the package: `.ci/run` installs zsh, fish and groff.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Output;

use assert_cmd::Command;
use clap::{CommandFactory, Parser};
use fleet::cli::Cli;
use fleet::cli::help;

fn fleet() -> Command {
    let mut cmd = Command::cargo_bin("fleet").unwrap();
    cmd.env_remove("FORCE_COLOR").env("NO_COLOR", "1");
    cmd
}

/// The directory of the `fleet` binary, to put first on a shell's PATH.
fn bin_dir() -> PathBuf {
    assert_cmd::cargo::cargo_bin("fleet")
        .parent()
        .unwrap()
        .to_owned()
}

/// Fails (never skips) when `tool` is not installed.
fn require(tool: &str, package: &str) {
    let found = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "`{tool}` is not installed: this test needs it (apt-get install {package}; .ci/run installs it)"
    );
}

/// Runs `script` with `shell`, `fleet` first on PATH and an empty HOME.
fn run_shell(shell: &str, args: &[&str], script: &str) -> Output {
    let home = tempfile::tempdir().unwrap();
    run_shell_at(home.path(), shell, args, script)
}

/// Runs `script` with `shell`, `fleet` first on PATH and `home` as HOME.
fn run_shell_at(home: &std::path::Path, shell: &str, args: &[&str], script: &str) -> Output {
    let path = std::env::join_paths(std::iter::once(bin_dir()).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    std::process::Command::new(shell)
        .args(args)
        .arg(script)
        .env("PATH", path)
        .env("HOME", home)
        .env_remove("ZDOTDIR")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_DATA_HOME")
        .output()
        .unwrap()
}

fn stdout_of(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// The commands of `fleet`, without clap's `help`.
fn commands() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .filter(|name| name != "help")
        .collect()
}

fn script(shell: &str) -> String {
    let output = fleet().args(["completions", shell]).output().unwrap();
    let text = stdout_of(&output);
    assert!(output.stderr.is_empty(), "{shell}: stderr not empty");
    assert!(
        text.len() > 1000,
        "{shell}: a script of {} bytes",
        text.len()
    );
    text
}

#[test]
fn bash_loads_the_completions_and_completes_commands_and_values() {
    let out = stdout_of(&run_shell(
        "bash",
        &["--norc", "--noprofile", "-c"],
        r#"set -e
source <(fleet completions bash)
complete -p fleet
COMP_WORDS=(fleet pl); COMP_CWORD=1; _fleet fleet pl fleet
echo "words: ${COMPREPLY[*]}"
COMP_WORDS=(fleet completions ""); COMP_CWORD=2; _fleet fleet "" completions
echo "shells: ${COMPREPLY[*]}"
COMP_WORDS=(fleet completions p); COMP_CWORD=2; _fleet fleet p completions
echo "p: ${COMPREPLY[*]}"
COMP_WORDS=(fleet plan --output ""); COMP_CWORD=3; _fleet fleet "" --output
echo "outputs: ${COMPREPLY[*]}""#,
    ));
    assert!(out.contains("-F _fleet fleet"), "{out}");
    assert!(out.contains("words: plan\n"), "{out}");
    assert!(out.contains(" bash zsh fish powershell\n"), "{out}");
    assert!(out.contains("p: powershell\n"), "{out}");
    assert!(out.contains("outputs: human json markdown\n"), "{out}");
}

#[test]
fn zsh_loads_the_completions() {
    require("zsh", "zsh");
    let text = script("zsh");
    assert!(text.starts_with("#compdef fleet"), "{}", &text[..40]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("_fleet");
    std::fs::write(&file, &text).unwrap();
    stdout_of(&run_shell("zsh", &["-n"], file.to_str().unwrap()));
    // As installed by the README: compinit first, then the script registers `_fleet`.
    let out = stdout_of(&run_shell(
        "zsh",
        &["-f", "-c"],
        "autoload -Uz compinit && compinit -D -u && source <(fleet completions zsh) \
         && print -r -- \"fleet: $_comps[fleet]\" && whence -w _fleet",
    ));
    assert!(out.contains("fleet: _fleet\n"), "{out}");
    assert!(out.contains("_fleet: function"), "{out}");
    // As the README installs it: a file `_fleet` in a directory on $fpath, found by compinit.
    let out = stdout_of(&run_shell(
        "zsh",
        &["-f", "-c"],
        &format!(
            "fpath=({} $fpath); autoload -Uz compinit && compinit -D -u \
             && print -r -- \"fleet: $_comps[fleet]\"",
            dir.path().display()
        ),
    ));
    assert!(out.contains("fleet: _fleet\n"), "{out}");
}

#[test]
fn fish_loads_the_completions_and_completes_commands() {
    require("fish", "fish");
    let text = script("fish");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fleet.fish");
    std::fs::write(&file, &text).unwrap();
    stdout_of(&run_shell(
        "fish",
        &["--no-config", "-n"],
        file.to_str().unwrap(),
    ));
    let out = stdout_of(&run_shell(
        "fish",
        &["--no-config", "-c"],
        "fleet completions fish | source; complete -C 'fleet pl'; complete -C 'fleet plan --output '",
    ));
    assert!(out.contains("plan\tShow what apply would change"), "{out}");
    for value in ["human", "json", "markdown"] {
        assert!(out.lines().any(|l| l.starts_with(value)), "{value}: {out}");
    }
    // As the README installs it: fish autoloads ~/.config/fish/completions/fleet.fish.
    let home = tempfile::tempdir().unwrap();
    let completions = home.path().join(".config/fish/completions");
    std::fs::create_dir_all(&completions).unwrap();
    std::fs::write(completions.join("fleet.fish"), &text).unwrap();
    let out = stdout_of(&run_shell_at(
        home.path(),
        "fish",
        &["-c"],
        "complete -C 'fleet dr'",
    ));
    assert!(
        out.contains("drift\tReport only out-of-band changes"),
        "{out}"
    );
}

#[test]
fn powershell_completions_are_generated() {
    // No PowerShell here to load it: only its content is checked.
    let text = script("powershell");
    assert!(text.contains("Register-ArgumentCompleter"), "{text}");
    assert!(text.contains("'fleet;plan'"), "{text}");
}

#[test]
fn an_unknown_shell_is_a_command_line_mistake() {
    fleet()
        .args(["completions", "tcsh"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicates::str::contains(
            "possible values: bash, zsh, fish, powershell",
        ));
}

/// Renders a page with groff, warnings on: the text, and no warning.
fn groff(roff: &[u8]) -> String {
    require("groff", "groff-base");
    let output = std::process::Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-rLL=100n"])
        .env("LC_ALL", "C.UTF-8")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(roff)?;
            child.wait_with_output()
        })
        .unwrap();
    let text = stdout_of(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.is_empty(), "groff warned:\n{stderr}");
    // Drop the overstrike bold and underline that -Tutf8 may emit.
    let mut plain = String::new();
    for c in text.chars() {
        if c == '\u{8}' {
            plain.pop();
        } else {
            plain.push(c);
        }
    }
    plain
}

#[test]
fn the_man_page_renders_and_lists_every_command() {
    let output = fleet().arg("man").output().unwrap();
    let roff = stdout_of(&output);
    assert!(roff.contains(".TH fleet 1"), "{roff}");
    let text = groff(roff.as_bytes());
    for section in [
        "NAME",
        "SYNOPSIS",
        "OPTIONS",
        "SUBCOMMANDS",
        "EXAMPLES",
        "EXIT STATUS",
    ] {
        assert!(
            text.contains(&format!("\n{section}\n")),
            "{section}:\n{text}"
        );
    }
    for command in commands() {
        assert!(
            text.contains(&format!("fleet-{command}(1)")),
            "{command}:\n{text}"
        );
    }
    let exit_status = &text[text.find("\nEXIT STATUS\n").unwrap()..];
    for code in 0..=6 {
        let prefix = format!("       {code} ");
        assert!(
            exit_status.lines().any(|l| l.starts_with(&prefix)),
            "exit {code}:\n{text}"
        );
    }

    // And as a user reads it without installing it.
    require("man", "man-db");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fleet.1");
    std::fs::write(&file, &roff).unwrap();
    let output = std::process::Command::new("man")
        .arg("-l")
        .arg(&file)
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .env("LC_ALL", "C.UTF-8")
        .output()
        .unwrap();
    let text = stdout_of(&output);
    assert!(text.contains("fleet-completions(1)"), "{text}");
}

#[test]
fn man_dir_writes_a_page_per_command_and_each_renders() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man/man1");
    fleet()
        .args(["man", "--dir"])
        .arg(&out)
        .assert()
        .code(0)
        .stdout("");
    let written: BTreeSet<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let expected: BTreeSet<String> = std::iter::once("fleet.1".to_owned())
        .chain(commands().iter().map(|c| format!("fleet-{c}.1")))
        .collect();
    assert_eq!(written, expected);
    for name in &written {
        let text = groff(&std::fs::read(out.join(name)).unwrap());
        assert!(text.contains("\nEXIT STATUS\n"), "{name}:\n{text}");
        assert!(text.contains("\nEXAMPLES\n"), "{name}:\n{text}");
    }
    let plan = groff(&std::fs::read(out.join("fleet-plan.1")).unwrap());
    for expected in [
        "fleet plan",
        "--detailed-exitcode",
        "--target",
        "--request-timeout",
        "fleet(1)",
    ] {
        assert!(plan.contains(expected), "{expected}:\n{plan}");
    }
}

#[test]
fn man_prints_one_command_s_page_and_refuses_an_unknown_one() {
    let roff = stdout_of(&fleet().args(["man", "status"]).output().unwrap());
    assert!(roff.contains(".TH fleet-status 1"), "{roff}");
    assert!(groff(roff.as_bytes()).contains("--exit-code"));
    fleet()
        .args(["man", "stats"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicates::str::contains("no command `stats`"));
}

#[test]
fn every_command_s_help_has_examples_and_exit_codes() {
    let mut names = vec![String::new()];
    names.extend(commands());
    for name in &names {
        let page = help::page(name).unwrap_or_else(|| panic!("no help page for `{name}`"));
        for flag in ["--help", "-h"] {
            let mut cmd = fleet();
            if !name.is_empty() {
                cmd.arg(name);
            }
            let out = stdout_of(&cmd.arg(flag).output().unwrap());
            let examples = out
                .find("\nExamples:\n")
                .unwrap_or_else(|| panic!("fleet {name} {flag}: no Examples:\n{out}"));
            let exits = out
                .find("\nExit codes:\n")
                .unwrap_or_else(|| panic!("fleet {name} {flag}: no Exit codes:\n{out}"));
            assert!(examples < exits, "fleet {name} {flag}");
            for (code, meaning) in page.exits {
                let lines = format!("\n  {code}  {}\n", meaning.replace('\n', "\n     "));
                assert!(
                    format!("{}\n", &out[exits..]).contains(&lines),
                    "fleet {name} {flag}: exit {code}:\n{out}"
                );
            }
            // Not wrapped on an 80-column terminal, so an example is copied whole.
            for line in out[examples..].lines() {
                assert!(
                    line.chars().count() <= 80,
                    "fleet {name} {flag}: longer than 80 columns: {line}"
                );
            }
            for (_, run) in page.examples {
                assert!(out.contains(&format!("  $ {run}\n")), "{run}:\n{out}");
            }
        }
        assert!(
            (2..=4).contains(&page.examples.len()),
            "fleet {name}: {} examples",
            page.examples.len()
        );
    }
}

#[test]
fn the_exit_codes_are_the_documented_ones() {
    let all: Vec<u8> = help::FLEET.exits.iter().map(|(code, _)| *code).collect();
    assert_eq!(all, (0..=6).collect::<Vec<u8>>());
    for name in commands() {
        let page = help::page(&name).unwrap();
        let codes: Vec<u8> = page.exits.iter().map(|(code, _)| *code).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(codes, sorted, "fleet {name}: in order, once each");
        assert_eq!(
            &codes[..2],
            &[0, 1],
            "fleet {name}: every command exits 0 or 1"
        );
        assert!(codes.iter().all(|c| *c <= 6), "fleet {name}: {codes:?}");
    }
}

/// The `fleet …` invocations of a shell line: split at `&&`, `|`, `;`, `<(` and `)`, then at
/// blanks (no quoting in the examples), up to a redirection.
fn invocations(line: &str) -> Vec<Vec<String>> {
    let mut line = line.to_owned();
    for sep in ["&&", "<(", "|", ";", ")"] {
        line = line.replace(sep, "\n");
    }
    line.lines()
        .map(|part| {
            part.split_whitespace()
                .take_while(|w| !w.starts_with('>') && !w.starts_with('<'))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|words| words.first().is_some_and(|w| w == "fleet"))
        .collect()
}

#[test]
fn every_example_is_a_valid_command_line() {
    let mut names = vec![String::new()];
    names.extend(commands());
    for name in &names {
        for (what, run) in help::page(name).unwrap().examples {
            assert!(
                !run.contains(['"', '\'']),
                "{run}: quoting is not checked here"
            );
            let calls = invocations(run);
            assert!(!calls.is_empty(), "{what}: `{run}` runs no fleet");
            for words in calls {
                if let Err(e) = Cli::try_parse_from(&words) {
                    panic!("fleet {name}: example `{run}` does not parse: {e}");
                }
            }
            if !name.is_empty() {
                assert!(
                    invocations(run).iter().any(|w| w.iter().any(|x| x == name)),
                    "fleet {name}: example `{run}` does not run it"
                );
            }
        }
    }
    assert_eq!(
        invocations("source <(fleet completions bash) && fleet plan --out p.json > x"),
        vec![
            vec!["fleet", "completions", "bash"],
            vec!["fleet", "plan", "--out", "p.json"]
        ]
    );
}
