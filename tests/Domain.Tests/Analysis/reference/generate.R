# Reference outputs for Deploy.Engine.Domain.Analysis.MannWhitney, straight from R's own wilcox.test.
# Rerun (from the repository root):  Rscript tests/Domain.Tests/Analysis/reference/generate.R
# It rewrites tests/Domain.Tests/Analysis/reference/mannwhitney.json. Base R only (no packages).
# Each case calls wilcox.test(x, y, conf.int = TRUE, exact = FALSE, correct = TRUE, conf.level = confidence).
# "nan" cases: x holds NaN (written as null); "remove" drops them (as wilcox.test itself does), "replace" turns them into 0.
out <- "tests/Domain.Tests/Analysis/reference/mannwhitney.json"
set.seed(20240611)
cases <- list(
  list(name = "shifted-small", x = 1:5, y = 3:7),
  list(name = "ties", x = c(1, 2, 2, 3, 3, 3, 4), y = c(2, 3, 3, 4, 4, 5, 6)),
  list(name = "equal-samples", x = c(1.5, 2.5, 3.5, 4.5), y = c(1.5, 2.5, 3.5, 4.5)),
  list(name = "one-vs-three", x = c(10), y = c(1, 2, 3)),
  list(name = "interval-hits-bracket-end", x = c(1), y = 2:60),
  list(name = "large-normal-shift", x = round(rnorm(200, 10.3, 1), 6), y = round(rnorm(150, 10, 1), 6)),
  list(name = "lognormal-latency", x = round(rlnorm(50, log(100) + 0.2, 0.3), 3), y = round(rlnorm(50, log(100), 0.3), 3)),
  list(name = "lognormal-latency-conf90", x = NULL, y = NULL, confidence = 0.90, copy = "lognormal-latency"),
  list(name = "poisson-counts-heavy-ties", x = rpois(40, 3), y = rpois(40, 4)),
  list(name = "negative-decimals", x = c(-0.5, -0.25, 0, 0.1, 0.3), y = c(-1, -0.8, -0.6, -0.55, -0.2, 0.05)),
  list(name = "mostly-tied", x = c(5, 5, 5, 5, 6), y = c(5, 5, 5, 5, 5)),
  list(name = "constant-canary", x = c(3, 3, 3), y = c(1, 2, 4, 5)),
  list(name = "nan-remove", x = c(4.1, NaN, 5.2, 6.3, NaN, 5.9), y = c(3.9, 4.4, 4.0, 4.8, 4.2), nan = "remove"),
  list(name = "nan-replace", x = c(4.1, NaN, 5.2, 6.3, NaN, 5.9), y = c(3.9, 4.4, 4.0, 4.8, 4.2), nan = "replace")
)
byname <- setNames(cases, sapply(cases, function(c) c$name))
num <- function(v) if (is.nan(v)) "null" else sprintf("%.17g", v)
vec <- function(v) paste0("[", paste(sapply(v, num), collapse = ", "), "]")
rows <- c()
for (c in cases) {
  if (!is.null(c$copy)) { c$x <- byname[[c$copy]]$x; c$y <- byname[[c$copy]]$y }
  conf <- if (is.null(c$confidence)) 0.95 else c$confidence
  nan <- if (is.null(c$nan)) "none" else c$nan
  x <- c$x
  if (nan == "replace") x[is.nan(x)] <- 0
  r <- wilcox.test(x, c$y, conf.int = TRUE, exact = FALSE, correct = TRUE, conf.level = conf)
  rows <- c(rows, sprintf(
    '  {"name": "%s", "nan": "%s", "confidence": %s, "x": %s, "y": %s, "w": %s, "p": %s, "estimate": %s, "lower": %s, "upper": %s}',
    c$name, nan, num(conf), vec(c$x), vec(c$y), num(unname(r$statistic)), num(r$p.value), num(unname(r$estimate)),
    num(r$conf.int[1]), num(r$conf.int[2])))
}
writeLines(c(paste0("{\"generator\": \"", R.version.string, " stats::wilcox.test\", \"cases\": ["), paste(rows, collapse = ",\n"), "]}"), out)
