#include "testing.h"

#include <stdlib.h>

#include "core/proc_table.h"
#include "core/redact.h"

static struct redact r;
static char shown[16384];

/* Redacts argv given as a '|'-separated line; the result joined the same way. */
static const char *red(const char *line)
{
	char packed[16384];
	size_t len = strlen(line) + 1, out_len = 0;
	uint32_t argc = 1;
	const char *out;

	memcpy(packed, line, len);
	for (size_t i = 0; i < len; i++)
		if (packed[i] == '|') {
			packed[i] = '\0';
			argc++;
		}
	out = redact_argv(&r, packed, len, argc, &out_len);
	if (!out)
		return "(failed)";
	memcpy(shown, out, out_len);
	for (size_t i = 0; i + 1 < out_len; i++)
		if (!shown[i])
			shown[i] = '|';
	shown[out_len ? out_len - 1 : 0] = '\0';
	return shown;
}

TEST(password_options)
{
	CHECK_STR(red("prog|--password=hunter2|x"), "prog|--password=[REDACTED]|x");
	CHECK_STR(red("prog|--passwd=hunter2"), "prog|--passwd=[REDACTED]");
	CHECK_STR(red("prog|--pass|hunter2|-v"), "prog|--pass|[REDACTED]|-v");
	CHECK_STR(red("prog|--password|hunter2"), "prog|--password|[REDACTED]");
	CHECK_STR(red("prog|--db-password=two words"), "prog|--db-password=[REDACTED]");
	CHECK_STR(red("prog|--PASSWORD=Hunter2"), "prog|--PASSWORD=[REDACTED]");
	CHECK_STR(red("prog|--token|abc|--api-key|def"),
		  "prog|--token|[REDACTED]|--api-key|[REDACTED]");
}

TEST(mysql_clients_only)
{
	CHECK_STR(red("mysql|-uroot|-phunter2|db"), "mysql|-uroot|-p[REDACTED]|db");
	CHECK_STR(red("/usr/bin/mysqldump|-phunter2|db"), "/usr/bin/mysqldump|-p[REDACTED]|db");
	CHECK_STR(red("mariadb|-p|db"), "mariadb|-p|db"); /* prompts: nothing to hide */
	CHECK_STR(red("mysql|--password|db"), "mysql|--password|db");
	CHECK_STR(red("mysql|--password=hunter2|db"), "mysql|--password=[REDACTED]|db");
	CHECK_STR(red("sudo|mysql|-phunter2"), "sudo|mysql|-p[REDACTED]");
	CHECK_STR(red("sh|-c|mysql -uroot -phunter2 db; echo ok"),
		  "sh|-c|mysql -uroot -p[REDACTED] db; echo ok");
	/* not a mysql client: -p is something else */
	CHECK_STR(red("ls|-p|/tmp"), "ls|-p|/tmp");
	CHECK_STR(red("mkdir|-pv|/tmp/a"), "mkdir|-pv|/tmp/a");
	CHECK_STR(red("ssh|-p|2222|host"), "ssh|-p|2222|host");
}

TEST(sshpass)
{
	CHECK_STR(red("sshpass|-p|hunter2|ssh|-p|22|host"), "sshpass|-p|[REDACTED]|ssh|-p|22|host");
	CHECK_STR(red("sshpass|-phunter2|ssh|host"), "sshpass|-p[REDACTED]|ssh|host");
	CHECK_STR(red("sshpass|-f|/etc/pw|ssh|-p|22|h"), "sshpass|-f|/etc/pw|ssh|-p|22|h");
	CHECK_STR(red("sshpass|-v|-p|hunter2|scp|a|b"), "sshpass|-v|-p|[REDACTED]|scp|a|b");
}

TEST(key_value_secrets)
{
	CHECK_STR(red("app|token=abc123"), "app|token=[REDACTED]");
	CHECK_STR(red("app|--api_key=k1|--apikey=k2"),
		  "app|--api_key=[REDACTED]|--apikey=[REDACTED]");
	CHECK_STR(red("app|client_secret=s3"), "app|client_secret=[REDACTED]");
	CHECK_STR(red("app|aws_secret_access_key=s4"), "app|aws_secret_access_key=[REDACTED]");
	CHECK_STR(red("app|ACCESS_KEY=s5"), "app|ACCESS_KEY=[REDACTED]");
	CHECK_STR(red("env|PGPASSWORD=hunter2|psql|db"), "env|PGPASSWORD=[REDACTED]|psql|db");
	CHECK_STR(red("env|MYSQL_PWD=hunter2|mysql"), "env|MYSQL_PWD=[REDACTED]|mysql");
	CHECK_STR(red("env|SSHPASS=hunter2|sshpass|-e|ssh|h"),
		  "env|SSHPASS=[REDACTED]|sshpass|-e|ssh|h");
	CHECK_STR(red("env|DB_PASS=hunter2|app"), "env|DB_PASS=[REDACTED]|app");
	CHECK_STR(red("env|PWD=/home/a|OLDPWD=/tmp|ls"), "env|PWD=/home/a|OLDPWD=/tmp|ls");
	CHECK_STR(red("wget|https://h/x?a=1&token=abc&b=2"),
		  "wget|https://h/x?a=1&token=[REDACTED]&b=2");
	CHECK_STR(red("app|--pass=x1|--bypass=1"), "app|--pass=[REDACTED]|--bypass=1");
	CHECK_STR(red("sh|-c|GH_TOKEN=abc gh pr list"), "sh|-c|GH_TOKEN=[REDACTED]");
	CHECK_STR(red("openssl|enc|-pass|pass:hunter2"), "openssl|enc|-pass|pass:[REDACTED]");
}

TEST(headers_and_urls)
{
	CHECK_STR(red("curl|-H|Authorization: Bearer abc.def|http://h/"),
		  "curl|-H|Authorization: Bearer [REDACTED]|http://h/");
	CHECK_STR(red("curl|-H|authorization:tok|http://h/"),
		  "curl|-H|authorization:[REDACTED]|http://h/");
	CHECK_STR(red("sh|-c|curl -H 'X-Api-Key: k9' http://h/"),
		  "sh|-c|curl -H 'X-Api-Key: [REDACTED]' http://h/");
	CHECK_STR(red("git|clone|https://alice:hunter2@example.com/r.git"),
		  "git|clone|https://alice:[REDACTED]@example.com/r.git");
	CHECK_STR(red("psql|postgres://bob:p%40ss@db:5432/app"),
		  "psql|postgres://bob:[REDACTED]@db:5432/app");
	CHECK_STR(red("git|clone|ssh://git@example.com/r.git"),
		  "git|clone|ssh://git@example.com/r.git");
	CHECK_STR(red("curl|http://h:8080/a@b"), "curl|http://h:8080/a@b");
	CHECK_STR(red("curl|-u|alice:hunter2|http://h/"), "curl|-u|alice:[REDACTED]|http://h/");
	CHECK_STR(red("curl|-ualice:hunter2|http://h/"), "curl|-ualice:[REDACTED]|http://h/");
	CHECK_STR(red("curl|--user=alice:hunter2|http://h/"),
		  "curl|--user=alice:[REDACTED]|http://h/");
	CHECK_STR(red("curl|-u|alice|http://h/"), "curl|-u|alice|http://h/"); /* curl prompts */
	CHECK_STR(red("tar|-u|a:b"), "tar|-u|a:b");
}

TEST(known_tokens)
{
	CHECK_STR(red("aws|--key|AKIAIOSFODNN7EXAMPLE"), "aws|--key|[REDACTED]");
	CHECK_STR(red("x|id=AKIAIOSFODNN7EXAMPLEX"), "x|id=AKIAIOSFODNN7EXAMPLEX"); /* 17: no */
	CHECK_STR(red("git|push|https://ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.com/o/r"),
		  "git|push|https://[REDACTED]@github.com/o/r");
	CHECK_STR(red("x|glpat-abcdefghijklmnopqrst"), "x|[REDACTED]");
	CHECK_STR(red("x|AKIA|ghp_short|glpat"), "x|AKIA|ghp_short|glpat");
}

TEST(no_false_positives)
{
	const char *plain[] = {
		"ls|-p|-la|/tmp",
		"grep|token|README",
		"grep|-r|password|/etc",
		"git|commit|-m|fix: handle tokens and passwords",
		"make|-j2|all",
		"python3|-c|print(1 == 2)",
		"ssh|-p|22|alice@example.com",
		"docker|run|-e|FOO=bar|img",
		"cc|-DNDEBUG=1|-o|a|a.c",
		"tokenizer|--max-tokens=5",
		"cat|/etc/passwd",
		"curl|https://example.com/a?b=c",
		"",
	};

	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		CHECK_STR(red(plain[i]), plain[i]);
	CHECK(r.failed == 0);
}

TEST(key_without_value_at_end)
{
	CHECK_STR(red("prog|--password"), "prog|--password");
	CHECK_STR(red("prog|--password="), "prog|--password=");
	CHECK_STR(red("curl|-u"), "curl|-u");
	CHECK_STR(red("sshpass|-p"), "sshpass|-p");
	CHECK_STR(red("curl|-H|Authorization:"), "curl|-H|Authorization:");
	CHECK_STR(red("x|https://a:@h/"), "x|https://a:@h/");
}

TEST(utf8)
{
	CHECK_STR(red("prog|--password=pässwörd✓|ünïcode"), "prog|--password=[REDACTED]|ünïcode");
	CHECK_STR(red("prog|токен|https://h/?token=секрет&x=1"),
		  "prog|токен|https://h/?token=[REDACTED]&x=1");
	CHECK_STR(red("prog|--pass|日本語"), "prog|--pass|[REDACTED]");
}

TEST(huge_argv)
{
	static char line[12001];
	size_t n;

	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	for (size_t i = 100; i < sizeof(line) - 1; i += 100)
		line[i] = '|';
	memcpy(line + 501, "token=", 6);
	memcpy(line + 11001, "--pass|s", 8);
	red(line);
	n = strlen(shown);
	CHECK(n > 11000 && n < 12100);
	CHECK(strstr(shown, "|token=[REDACTED]|") != NULL);
	CHECK(strstr(shown, "|--pass|[REDACTED]|") != NULL);
	/* the values really are gone: 94 'a's after "token=" before the next '|' */
	CHECK(strstr(shown, "token=aaaa") == NULL);
}

TEST(counters_and_unchanged_input)
{
	char packed[] = "ls\0-la";
	size_t out_len = 0;
	uint64_t argv_before = r.argv_redacted, secrets_before = r.secrets;

	CHECK(redact_argv(&r, packed, sizeof(packed), 2, &out_len) == packed);
	CHECK(out_len == sizeof(packed));
	red("prog|--password=a|token=b|--pass|c");
	CHECK(r.argv_redacted == argv_before + 1);
	CHECK(r.secrets == secrets_before + 3);
	/* argc claims more strings than the block holds: nothing is kept */
	CHECK(redact_argv(&r, packed, sizeof(packed), 3, &out_len) == NULL);
	CHECK(r.failed == 1);
	r.failed = 0;
}

TEST(config_patterns)
{
	struct redact c;
	char err[256];
	const char *good[] = { "corp-[0-9a-f]{8}", "--vault=([^ ]+)" };
	const char *bad[] = { "a(b" };
	const char *empty[] = { "x*" };
	char packed[] = "deploy\0--vault=s3cr3t\0id corp-deadbeef ok";
	size_t out_len;
	const char *out;

	CHECK(redact_init(&c, bad, 1, err, sizeof(err)) == -1);
	CHECK(strstr(err, "a(b") != NULL);
	redact_free(&c);
	CHECK(redact_init(&c, empty, 1, err, sizeof(err)) == -1);
	CHECK(strstr(err, "empty") != NULL);
	redact_free(&c);
	REQUIRE(redact_init(&c, good, 2, err, sizeof(err)) == 0);
	out = redact_argv(&c, packed, sizeof(packed), 3, &out_len);
	REQUIRE(out);
	CHECK_STR(out, "deploy");
	CHECK_STR(out + 7, "--vault=[REDACTED]");
	CHECK_STR(out + 7 + 19, "id [REDACTED] ok");
	/* a byte regex ending inside a UTF-8 character takes the whole character */
	{
		const char *dot[] = { "key:(.)" };
		char u[] = "x\0key:\xc3\xa9t\xc3\xa9";

		REQUIRE(redact_set_patterns(&c, dot, 1, err, sizeof(err)) == 0);
		out = redact_argv(&c, u, sizeof(u), 2, &out_len);
		REQUIRE(out);
		CHECK_STR(out + 2, "key:[REDACTED]t\xc3\xa9");
		REQUIRE(redact_set_patterns(&c, good, 2, err, sizeof(err)) == 0);
	}
	/* a bad replacement set keeps the old one */
	CHECK(redact_set_patterns(&c, bad, 1, err, sizeof(err)) == -1);
	CHECK(c.n_custom == 2);
	redact_free(&c);
	CHECK(redact_pattern_problem("ok[0-9]+", err, sizeof(err)) == NULL);
	CHECK(redact_pattern_problem("[z-a]", err, sizeof(err)) != NULL);
	/* what would make regcomp take unbounded memory is refused before it is compiled */
	CHECK(redact_pattern_problem("o[h:^ ]+++++++++++++++++++++++++++++++++++", err,
				     sizeof(err)) != NULL);
	CHECK(redact_pattern_problem("((x{200}){200})", err, sizeof(err)) != NULL);
	CHECK(redact_pattern_problem("((((((((((((((((((x+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)", err,
				     sizeof(err)) != NULL);
	CHECK(redact_pattern_problem("x{99999999999999999999}", err, sizeof(err)) != NULL);
	CHECK(redact_pattern_problem("(a|b)\\1", err, sizeof(err)) != NULL);
	{
		char longp[300];

		memset(longp, 'a', sizeof(longp) - 1);
		longp[sizeof(longp) - 1] = '\0';
		CHECK(strstr(redact_pattern_problem(longp, err, sizeof(err)), "256") != NULL);
	}
	/* ordinary patterns pass */
	CHECK(redact_pattern_problem("[A-Z]{4}-[0-9]{6}", err, sizeof(err)) == NULL);
	CHECK(redact_pattern_problem("(sk|pk)_live_[0-9a-zA-Z]{24}", err, sizeof(err)) == NULL);
	CHECK(redact_pattern_problem("[[:alnum:]]{40}", err, sizeof(err)) == NULL);
	CHECK(redact_pattern_problem("--vault(-ticket)?[= ]([^ ]+)", err, sizeof(err)) == NULL);
}

TEST(table_stores_only_the_redacted_form)
{
	struct proc_table t;
	struct proc_entry *e, *child;
	char packed[] = "mysql\0-phunter2\0db";
	char err[64];
	const char *pat[] = { "corp-[0-9]+" };

	proc_table_init(&t, 4, 1);
	e = proc_table_put(&t, 7);
	proc_table_set_argv(&t, e, packed, sizeof(packed), 3);
	CHECK(e->argc == 3);
	CHECK_STR(e->argv + 6, "-p[REDACTED]");
	CHECK_STR(e->argv + 6 + 13, "db");
	CHECK(!memmem(e->argv, 6 + 13 + 3, "hunter2", 7));
	CHECK(t.redact.argv_redacted == 1 && t.redact.secrets == 1);
	/* a fork copies the stored form: nothing to redact again, nothing counted twice */
	child = proc_table_put(&t, 8);
	proc_entry_set_argv(child, e->argv, 6 + 13 + 3, e->argc);
	CHECK_STR(child->argv + 6, "-p[REDACTED]");
	REQUIRE(redact_set_patterns(&t.redact, pat, 1, err, sizeof(err)) == 0);
	proc_table_set_argv(&t, e, "x\0corp-42", 10, 2);
	CHECK_STR(e->argv + 2, "[REDACTED]");
	/* an unreadable block leaves no argv at all */
	proc_table_set_argv(&t, e, "abc", 3, 1);
	CHECK(e->argc == 0 && e->argv == NULL && e->argv_truncated);
	CHECK(t.redact.failed == 1);
	proc_table_free(&t);
}

int main(void)
{
	char err[256];

	if (redact_init(&r, NULL, 0, err, sizeof(err)))
		return 1;
	RUN(password_options);
	RUN(mysql_clients_only);
	RUN(sshpass);
	RUN(key_value_secrets);
	RUN(headers_and_urls);
	RUN(known_tokens);
	RUN(no_false_positives);
	RUN(key_without_value_at_end);
	RUN(utf8);
	RUN(huge_argv);
	RUN(counters_and_unchanged_input);
	RUN(config_patterns);
	RUN(table_stores_only_the_redacted_form);
	redact_free(&r);
	return test_summary();
}
