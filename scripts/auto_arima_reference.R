#!/usr/bin/Rscript
# Reference for the automatic order selection of the Go package
# forecast/arima (arima.Auto): R's forecast::auto.arima and the unit-root
# tests it runs, on a few series, written to
# forecast/arima/testdata/auto_arima_r.json.
#
# Needs Debian's r-base-core and r-cran-forecast (which brings r-cran-urca):
#
#     apt-get install r-cran-forecast
#     Rscript scripts/auto_arima_reference.R
#
# auto.arima runs with its defaults (stepwise search, AICc, KPSS at 5% for
# d, the "seas" seasonal-strength heuristic for D, max p,q = 5, P,Q = 2)
# except approximation = FALSE, so that it fits every candidate by exact
# maximum likelihood as the Go package does, rather than by conditional
# sums of squares. For each series the fixture holds the chosen model with
# its AICc and log-likelihood, every candidate of the search with its AICc
# (R's trace), the seasonal strength and nsdiffs, and the KPSS statistic
# with ndiffs. The Go tests never run R.

suppressMessages(library(forecast))

here <- function() {
  args <- commandArgs(trailingOnly = FALSE)
  file <- sub("^--file=", "", args[grep("^--file=", args)])
  dirname(normalizePath(file))
}
testdata <- file.path(dirname(here()), "forecast", "arima", "testdata")

read_column <- function(name) {
  raw <- read.csv(file.path(testdata, name), stringsAsFactors = FALSE)
  as.numeric(raw[[2]])
}

json_number <- function(v) {
  if (is.na(v)) "null" else if (is.infinite(v)) {
    if (v > 0) "\"Inf\"" else "\"-Inf\""
  } else sprintf("%.17g", v)
}
json_vector <- function(v) paste0("[", paste(vapply(v, json_number, ""), collapse = ", "), "]")
json_string <- function(s) paste0("\"", gsub("\"", "\\\\\"", s), "\"")

# Parses auto.arima's trace lines such as
#   " ARIMA(2,1,2)(1,1,1)[12] with drift         : -434.22"
parse_trace <- function(lines) {
  out <- character(0)
  for (line in lines) {
    m <- regmatches(line, regexec(
      "ARIMA\\((\\d+),(\\d+),(\\d+)\\)(\\((\\d+),(\\d+),(\\d+)\\)\\[(\\d+)\\])?(.*):\\s*(\\S+)\\s*$",
      line))[[1]]
    if (length(m) == 0) next
    seasonal <- if (nzchar(m[5])) as.numeric(m[6:8]) else c(0, 0, 0)
    constant <- grepl("drift|non-zero mean", m[10])
    out <- c(out, sprintf(
      "{\"order\": [%s, %s, %s], \"seasonal_order\": [%d, %d, %d], \"constant\": %s, \"ic\": %s}",
      m[2], m[3], m[4], seasonal[1], seasonal[2], seasonal[3],
      tolower(as.character(constant)), json_number(as.numeric(m[11]))))
  }
  paste0("[\n   ", paste(out, collapse = ",\n   "), "\n  ]")
}

kpss_stat <- function(x) {
  x <- c(na.omit(c(x)))
  test <- urca::ur.kpss(x, type = "mu", use.lag = trunc(3 * sqrt(length(x)) / 13))
  c(test@teststat[1], trunc(3 * sqrt(length(x)) / 13))
}

case <- function(name, description, x, m) {
  y <- ts(x, frequency = m)
  trace <- capture.output(fit <- auto.arima(y, approximation = FALSE, trace = TRUE))
  arma <- fit$arma # p, q, P, Q, m, d, D
  constant <- any(names(fit$coef) %in% c("intercept", "drift"))
  D <- if (m > 1) nsdiffs(y) else 0
  strength <- if (m > 1) forecast:::seas.heuristic(y) else NA
  dx <- if (D > 0) diff(y, lag = m, differences = D) else y
  kpss <- kpss_stat(dx)
  d <- ndiffs(dx)
  kpss_diff <- kpss_stat(diff(dx))
  cat(sprintf("%-14s %s AICc %.4f (D=%d strength %.4f, d=%d KPSS %.4f)\n",
              name, paste(capture.output(print(fit))[2], collapse = ""),
              fit$aicc, D, strength, d, kpss[1]))
  sprintf(paste0(
    " {\n  \"name\": %s,\n  \"description\": %s,\n  \"season\": %d,\n",
    "  \"series\": %s,\n",
    "  \"seasonal_strength\": %s,\n  \"nsdiffs\": %d,\n",
    "  \"kpss\": %s,\n  \"kpss_lags\": %d,\n  \"kpss_differenced\": %s,\n",
    "  \"kpss_differenced_lags\": %d,\n  \"ndiffs\": %d,\n",
    "  \"order\": [%d, %d, %d],\n  \"seasonal_order\": [%d, %d, %d],\n",
    "  \"constant\": %s,\n  \"aicc\": %s,\n  \"loglik\": %s,\n  \"trace\": %s\n }"),
    json_string(name), json_string(description), m, json_vector(x),
    json_number(strength), D, json_number(kpss[1]), kpss[2],
    json_number(kpss_diff[1]), kpss_diff[2], d,
    arma[1], arma[6], arma[2], arma[3], arma[7], arma[4],
    tolower(as.character(constant)), json_number(fit$aicc),
    json_number(fit$loglik), parse_trace(trace))
}

set.seed(20240611)
ar2 <- 5 + as.numeric(arima.sim(list(ar = c(0.5, -0.35)), n = 400))
set.seed(20240612)
walk <- cumsum(0.5 + rnorm(200))
passengers <- read_column("airline-passengers.csv")

cases <- c(
  case("airline_log", "log airline passengers, monthly", log(passengers), 12),
  case("airline", "airline passengers, monthly", passengers, 12),
  case("ar2", "5 + AR(2) with ar = (0.5, -0.35), n = 400, set.seed(20240611)", ar2, 1),
  case("walk_drift", "random walk with drift 0.5, n = 200, set.seed(20240612)", walk, 1),
  case("crop_temperature", "CROP farm hourly mean temperature, 481 hours",
       read_column("crop-temperature-hourly.csv"), 24)
)

out <- file.path(testdata, "auto_arima_r.json")
writeLines(c(sprintf("{\n \"generator\": \"scripts/auto_arima_reference.R\",\n \"r_version\": %s,\n \"forecast_version\": %s,\n \"cases\": [",
                     json_string(R.version.string), json_string(as.character(packageVersion("forecast")))),
             paste(cases, collapse = ",\n"), " ]\n}"), out)
cat("wrote", out, "\n")
