/* cli_init.c: `stau init [DIR]`: a jobs root with one example job, [tool.stau] in
 * pyproject.toml, and the lines that run stau every minute from cron or systemd. */
#include "cli.h"
#include "settings.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char example_job[] =
    "\"\"\"An example job: stau runs it every day at 06:00, and at once the first time.\"\"\"\n"
    "import datetime\n"
    "import pathlib\n"
    "\n"
    "STAU_CONFIG = {\n"
    "    \"schedule\": \"0 6 * * *\",\n"
    "    \"outputs\": [\"data/hello.txt\"],\n"
    "    \"main_func\": \"main\",\n"
    "    \"kwargs\": {\"greeting\": \"hello\"},\n"
    "}\n"
    "\n"
    "\n"
    "def main(greeting):\n"
    "    out = pathlib.Path(\"data/hello.txt\")\n"
    "    out.parent.mkdir(parents=True, exist_ok=True)\n"
    "    out.write_text(f\"{greeting} at {datetime.datetime.now():%Y-%m-%d %H:%M}\\n\")\n"
    "    print(f\"wrote {out}\")\n";

static const char settings_table[] = "[tool.stau]\n"
                                     "jobs_root = \"src\"\n";

/* Write text to a new file dir/rel (never replacing one); -1 after a message. */
static int write_new(const char *dir, const char *rel, const char *text, const char *mode)
{
    char *path = xprintf("%s/%s", dir, rel);
    int rc = 0;
    FILE *f = fopen(path, mode);
    if (!f)
        rc = error("cannot write '%s':", path);
    else {
        bool written = fputs(text, f) >= 0;
        /* fclose once, whatever it returns: a second one is undefined. */
        if (fclose(f) != 0 || !written)
            rc = error("cannot write '%s':", path);
    }
    free(path);
    return rc;
}

static bool exists(const char *dir, const char *rel)
{
    char *path = xprintf("%s/%s", dir, rel);
    struct stat st;
    bool found = lstat(path, &st) == 0;
    free(path);
    return found;
}

int cli_init(const struct cli *c)
{
    if (c->arg_count > 1)
        return cli_usage_error("'init' takes one folder", "stau init [DIR]");
    const char *dir = c->arg_count ? c->args[0] : c->dir_given ? c->project.dir : ".";
    if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
        error("cannot create '%s':", dir);
        return EXIT_USAGE;
    }
    struct stat st;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "stau: error: cannot use '%s' for a project: not a folder\n", dir);
        return EXIT_USAGE;
    }
    /* Nothing is written over: a job file of that name, or a [tool.stau] table, stays. */
    if (exists(dir, "src/hello.py")) {
        fprintf(stderr,
                "stau: error: '%s%ssrc/hello.py' exists; nothing written\n"
                "  hint: stau init makes a new project; run `stau check` in this one\n",
                strcmp(dir, ".") ? dir : "", strcmp(dir, ".") ? "/" : "");
        return EXIT_USAGE;
    }
    struct settings s;
    struct diags d = DIAGS_INIT;
    settings_read(dir, &s, &d);
    bool has_table = s.present;
    settings_release(&s);
    diag_release(&d);
    char *src = xprintf("%s/src", dir);
    if (mkdir(src, 0777) < 0 && errno != EEXIST) {
        error("cannot create '%s':", src);
        free(src);
        return EXIT_USAGE;
    }
    free(src);
    if (write_new(dir, "src/hello.py", example_job, "wx") < 0)
        return EXIT_USAGE;
    printf("created src/hello.py, a job that runs every day at 06:00\n");
    if (!has_table) {
        bool had_file = exists(dir, SETTINGS_FILE);
        /* Appended after a blank line when the file has other tables already. */
        char *text = xprintf("%s%s", had_file ? "\n" : "", settings_table);
        int rc = write_new(dir, SETTINGS_FILE, text, "a");
        free(text);
        if (rc < 0)
            return EXIT_USAGE;
        printf("%s [tool.stau] %s pyproject.toml (stau finds the project from any folder "
               "below it)\n",
               had_file ? "added" : "wrote", had_file ? "to" : "in");
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0)
        exe[n] = '\0';
    else
        strcpy(exe, "stau");
    char *abs = realpath(dir, NULL);
    const char *where = abs ? abs : dir;
    printf("\nnext:\n");
    if (strcmp(dir, ".") != 0)
        printf("  cd '%s'\n", dir);
    printf("  stau            run what is due (hello, as it never ran)\n"
           "  stau why hello  why it ran, or why not\n"
           "  stau status     each job's state\n");
    printf("\nto run stau every minute from cron (crontab -e):\n"
           "  * * * * * cd '%s' && '%s' >>.stau/cron.log 2>&1\n"
           "or with a systemd user timer, ~/.config/systemd/user/stau.service:\n"
           "  [Service]\n"
           "  Type=oneshot\n"
           "  WorkingDirectory=%s\n"
           "  ExecStart=%s\n"
           "and ~/.config/systemd/user/stau.timer:\n"
           "  [Timer]\n"
           "  OnCalendar=minutely\n"
           "  [Install]\n"
           "  WantedBy=timers.target\n"
           "then: systemctl --user enable --now stau.timer\n"
           "A run still going on when the next minute starts is not started twice. Once one\n"
           "machine is not enough, `stau serve` replaces the timer (several copies may\n"
           "serve one project).\n",
           where, exe, where, exe);
    free(abs);
    return EXIT_OK;
}
