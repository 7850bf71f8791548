# Hostile trees and state files (issue 13): links that leave the project, state
# files replaced by links or devices, file names with control characters, huge
# declarations, unbounded logs and restores. stau must say what it refuses, go on
# where it safely can, and never hang, walk the whole disk or print raw escapes.

# A project with one good job.
hostile_project() {
    new_project
    write src/good.py <<'EOF2'
STAU_CONFIG = {"schedule": "@daily"}
EOF2
}

test_hostile_links_out_of_the_project_are_not_followed() {
    hostile_project
    ln -s / src/root
    ln -s /proc/self src/me
    # A link out through a path that starts inside the project.
    ln -s /tmp p_out
    ln -s ../p_out src/via
    local start=$SECONDS
    run check
    expect_exit 0
    expect_stdout_eq <<'EOF2'
1 job, 0 dependencies, 3 warnings
EOF2
    expect_stderr_eq <<'EOF2'
src/me: warning: a link to a folder outside the project; not followed
src/root: warning: a link to a folder outside the project; not followed
src/via: warning: a link to a folder outside the project; not followed
EOF2
    [ $((SECONDS - start)) -le 5 ] || fail "check took $((SECONDS - start)) s with links to / and /proc/self"
}

test_hostile_links_inside_the_project_are_followed_once() {
    hostile_project
    write lib/shared/job.py <<'EOF2'
STAU_CONFIG = {"dependencies": ["good"]}
EOF2
    # A folder of the project outside the jobs root, through a link: followed.
    ln -s ../lib/shared src/shared
    # A loop through it, and one back to the top: each walked once.
    ln -s ../../src lib/shared/back
    ln -s . src/here
    run list
    expect_exit 0
    expect_stdout_eq <<'EOF2'
NAME        FILE               DEPENDENCIES  SCHEDULE      POLICY     TAGS
good        src/good.py        -             @daily        scheduled  -
shared.job  src/shared/job.py  good          -             derived    -
EOF2
    expect_stderr_eq <<'EOF2'
src/here: warning: symlink leads to a folder already walked (a loop?); not followed
src/shared/back: warning: symlink leads to a folder already walked (a loop?); not followed
EOF2
}
