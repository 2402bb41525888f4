# %% [markdown]
# # Forecasting a farm sensor with statsmodels
#
# Reads the hourly temperature of one sensor of the demo farm
# (`dtbase serve --demo`) into a DataFrame, fits a seasonal ARIMA with
# statsmodels, stores its forecast in dtbase as a model run, and plots the
# forecast against what was observed.
#
# Needs `pip install './python[pandas]' statsmodels matplotlib`. The server
# and credentials come from `DT_BACKEND_URL` and `DT_API_KEY` or
# `DT_DEFAULT_USER_PASS`; the plot goes to `FORECAST_PNG` (default
# `forecast.png`). This file is also `notebook_forecast.ipynb`, cell for cell.

# %%
import os
import warnings

import pandas as pd
from statsmodels.tsa.statespace.sarimax import SARIMAX

from dtbase_client import Client

client = Client()  # DT_BACKEND_URL, DT_API_KEY or DT_DEFAULT_USER_PASS
sensor = client.list_sensors(type_name="Aranet T&RH")[0]["unique_identifier"]
sensor

# %% [markdown]
# Three days of hourly means: one call, one column per (sensor, measure).

# %%
end = pd.Timestamp.now(tz="UTC")
hourly = client.read_readings(sensor, "temperature", end - pd.Timedelta(days=3), end, resolution="1h")
observed = hourly[(sensor, "temperature")].asfreq("h")  # an empty hour becomes NaN, which SARIMAX handles
observed.describe()

# %% [markdown]
# Fit on all but the last 12 hours, then forecast 24 hours from there, so
# half the forecast can be checked against observations.

# %%
train = observed.iloc[:-12]
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # convergence chatter on short series
    fit = SARIMAX(train, order=(1, 0, 1), seasonal_order=(0, 1, 1, 24)).fit(disp=False)
prediction = fit.get_forecast(24)
bounds = prediction.conf_int(alpha=0.05)
forecast = pd.DataFrame({
    "mean": prediction.predicted_mean,
    "lower": bounds.iloc[:, 0],
    "upper": bounds.iloc[:, 1],
})
forecast.head()

# %% [markdown]
# Store the forecast as a model run linked to the sensor's temperature,
# then read it back beside the observations with dtbase's skill metrics.

# %%
run_id = client.write_model_run(forecast, "statsmodels SARIMAX", "notebook", sensor=sensor, measure="temperature")
result = client.read_forecast("statsmodels SARIMAX", run=run_id)
print(pd.DataFrame(result.attrs["metrics"])[["measure", "n", "mae", "rmse", "coverage"]])
result.head(14)

# %%
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

fig, ax = plt.subplots(figsize=(10, 4))
observed.plot(ax=ax, color="black", label="observed (hourly mean)")
result["mean"].plot(ax=ax, color="tab:blue", label="forecast")
ax.fill_between(result.index, result["lower"], result["upper"], color="tab:blue", alpha=0.2, label="95% interval")
ax.set_ylabel("temperature")
ax.set_title(f"{sensor}: SARIMAX(1,0,1)(0,1,1)24 forecast vs observed")
ax.legend()
png = os.environ.get("FORECAST_PNG", "forecast.png")
fig.savefig(png, dpi=100, bbox_inches="tight")
print("plot written to", png)
