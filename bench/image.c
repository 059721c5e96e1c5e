/*
 * image.c - bench-image: the image pipeline's cost on large photos, next
 * to libvips' own vipsthumbnail and ImageMagick's convert on the same
 * files.
 *
 *	bench-image [--dir DIR] [--runs N]
 *
 * Makes (once, in DIR, default /tmp/pb-bench-image) a 24 MP camera-like
 * JPEG (6000x4000, EXIF orientation 6) and a 4096x4096 PNG, by upscaling
 * a real photo of $PB_TESTDATA when there is one (else noise), then times
 * each step in a child process of its own and reads the child's peak RSS
 * from wait4(): one process per run, so every number includes process
 * start, for us as for the reference tools.  Prints one line per step:
 * the median wall time and the largest peak RSS of N runs (default 3).
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <vips/vips.h>

#include "image.h"
#include "util.h"

#define CAP		200000000LL
#define MAX_RUNS	15

static const char *dir = "/tmp/pb-bench-image";

/* A step run in the child: 0 on success. */
typedef int (*bench_fn)(const char *in, const char *out, int arg);

static int
write_out(const char *path, struct image_buf *b)
{
	FILE *f = fopen(path, "wb");
	int rc = f != NULL && fwrite(b->data, 1, b->len, f) == b->len ? 0 : -1;

	if (f != NULL && fclose(f) != 0)
		rc = -1;
	image_buf_free(b);
	return rc;
}

static int
ours(const char *in, const char *out, int side, int prepare)
{
	struct image_output o = { .format = IMAGE_FMT_JPEG, .quality = 90, .max_side = side };
	struct image_buf b;
	char err[256];
	size_t len;
	char *data = read_file(in, 512u << 20, &len);
	int rc;

	/* As many libvips threads as the reference tools use (one per core). */
	if (data == NULL || image_init((int)sysconf(_SC_NPROCESSORS_ONLN), err, sizeof(err)) != 0)
		return -1;
	rc = prepare ? image_prepare_input(data, len, CAP, side, &b, err, sizeof(err)) :
	    image_convert_output(data, len, CAP, &o, &b, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "bench-image: %s\n", err);
	free(data);
	return rc == 0 ? write_out(out, &b) : -1;
}

static int
ours_prepare(const char *in, const char *out, int side)
{
	return ours(in, out, side, 1);
}

static int
ours_convert(const char *in, const char *out, int side)
{
	return ours(in, out, side, 0);
}

/* Runs fn (or argv when fn is NULL) in a child; wall ms and peak RSS kB. */
static int
measure(bench_fn fn, const char *in, const char *out, int arg, const char *const argv[],
    double *ms, long *rss_kb)
{
	struct rusage ru;
	int64_t start = now_ms();
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (fn != NULL)
			_exit(fn(in, out, arg) == 0 ? 0 : 1);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) != pid)
		return -1;
	*ms = (double)(now_ms() - start);
	*rss_kb = ru.ru_maxrss;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* out: the file the step writes. */
static void
report(const char *name, int runs, bench_fn fn, const char *in, const char *out, int arg,
    const char *const argv[])
{
	double ms[MAX_RUNS];
	long rss = 0, r;
	struct stat st;

	for (int i = 0; i < runs; i++) {
		if (measure(fn, in, out, arg, argv, &ms[i], &r) != 0) {
			printf("%-44s failed\n", name);
			return;
		}
		rss = r > rss ? r : rss;
	}
	qsort(ms, (size_t)runs, sizeof(ms[0]), cmp_double);
	printf("%-44s median_ms=%6.0f peak_rss_mb=%6.1f out_kb=%lld\n", name, ms[runs / 2],
	    rss / 1024.0, stat(out, &st) == 0 ? (long long)st.st_size / 1024 : -1LL);
	unlink(out);
}

/* The test images, made once. */
static int
make_inputs(const char *jpg, const char *png)
{
	const char *td = getenv("PB_TESTDATA");
	char *src = xasprintf("%s/exif/gps-DSCN0010.jpg", td != NULL ? td : "../shared/testdata");
	VipsImage *base = NULL, *big, *crop;
	int rc = 0;

	if (access(jpg, R_OK) == 0 && access(png, R_OK) == 0) {
		free(src);
		return 0;
	}
	if ((base = vips_image_new_from_file(src, NULL)) == NULL)
		vips_gaussnoise(&base, 640, 480, "mean", 128.0, "sigma", 40.0, NULL);
	free(src);
	if (base == NULL || vips_resize(base, &big, 6000.0 / base->Xsize, NULL) != 0)
		return -1;
	if (vips_crop(big, &crop, 0, 0, 6000, 4000, NULL) != 0)
		rc = -1;
	else {
		vips_image_set_int(crop, "orientation", 6);
		rc = vips_jpegsave(crop, jpg, "Q", 92, NULL);
		g_object_unref(crop);
	}
	/* big is 6000x4500: its top-left square is the PNG. */
	if (rc == 0 && vips_crop(big, &crop, 0, 0, 4096, 4096, NULL) != 0)
		rc = -1;
	if (rc == 0) {
		rc = vips_pngsave(crop, png, "compression", 6, NULL);
		g_object_unref(crop);
	}
	g_object_unref(big);
	g_object_unref(base);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "runs", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	char *jpg, *png, *thumb_out, *out, *ours_out;
	int c, runs = 3;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'd')
			dir = optarg;
		else if (c == 'r' && atoi(optarg) >= 1 && atoi(optarg) <= MAX_RUNS)
			runs = atoi(optarg);
		else {
			fprintf(stderr, "usage: bench-image [--dir DIR] [--runs 1..%d]\n", MAX_RUNS);
			return 2;
		}
	}
	if (mkdir_p(dir, 0755) != 0) {
		fprintf(stderr, "bench-image: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	jpg = xasprintf("%s/24mp.jpg", dir);
	png = xasprintf("%s/4096.png", dir);
	/* The inputs are made in a child, so the parent never holds libvips. */
	{
		pid_t pid = fork();
		int status;

		if (pid == 0) {
			char err[256];

			_exit(image_init(2, err, sizeof(err)) == 0 && make_inputs(jpg, png) == 0 ? 0 : 1);
		}
		if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			fprintf(stderr, "bench-image: cannot make the test images in %s\n", dir);
			return 1;
		}
	}
	out = xasprintf("%s/ref.jpg", dir);
	ours_out = xasprintf("%s/ours.jpg", dir);
	thumb_out = xasprintf("%s/ref.jpg[Q=90,strip]", dir);
	printf("# %d runs each; one process per run; 24 MP = 6000x4000 JPEG (orientation 6), "
	    "4096x4096 PNG\n", runs);
	for (int k = 0; k < 2; k++) {
		const char *in = k == 0 ? jpg : png, *what = k == 0 ? "24mp.jpg" : "4096.png";
		char name[96];
		const char *vt[] = { "vipsthumbnail", in, "-s", "2048", "-o", thumb_out, NULL };
		const char *im[] = { "/usr/bin/convert", in, "-auto-orient", "-resize",
		    "2048x2048", "-strip", "-quality", "90", out, NULL };
		const char *imf[] = { "/usr/bin/convert", in, "-auto-orient", "-strip",
		    "-quality", "90", out, NULL };
		const char *vc[] = { "vips", "autorot", in, thumb_out, NULL };

		snprintf(name, sizeof(name), "%s -> 2048 jpeg: photobridge prepare", what);
		report(name, runs, ours_prepare, in, ours_out, 2048, NULL);
		snprintf(name, sizeof(name), "%s -> 2048 jpeg: vipsthumbnail", what);
		report(name, runs, NULL, in, out, 0, vt);
		snprintf(name, sizeof(name), "%s -> 2048 jpeg: convert", what);
		report(name, runs, NULL, in, out, 0, im);
		snprintf(name, sizeof(name), "%s -> full jpeg: photobridge convert", what);
		report(name, runs, ours_convert, in, ours_out, 0, NULL);
		snprintf(name, sizeof(name), "%s -> full jpeg: vips autorot", what);
		report(name, runs, NULL, in, out, 0, vc);
		snprintf(name, sizeof(name), "%s -> full jpeg: convert", what);
		report(name, runs, NULL, in, out, 0, imf);
	}
	free(jpg);
	free(png);
	free(out);
	free(ours_out);
	free(thumb_out);
	return 0;
}
