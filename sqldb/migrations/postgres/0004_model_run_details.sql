-- A JSON object stored with a model run by the program that wrote it: the
-- ARIMA service keeps its order, fitted parameters, fit statistics, how the
-- training data was prepared and its cross-validation scores here. Kept as
-- text, exactly as written, like the service tables' JSON.
ALTER TABLE model_run ADD COLUMN details TEXT;
