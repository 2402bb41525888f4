package arima_test

import (
	"fmt"
	"log"
	"math"

	"github.com/dtbase/dtbase/forecast/arima"
)

// The Box-Jenkins airline model on the logarithm of monthly airline
// passengers, 1949-1960, forecast one year ahead with 95% intervals.
func Example() {
	logs := logAirlinePassengers()
	spec := arima.Spec{
		Order:    arima.Order{P: 0, D: 1, Q: 1},
		Seasonal: arima.SeasonalOrder{P: 0, D: 1, Q: 1, S: 12},
	}
	model, err := arima.Fit(logs, spec)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("ma.L1 %.4f, ma.S.L12 %.4f, sigma2 %.6f, log-likelihood %.3f\n",
		model.Params.MA[0], model.Params.SeasonalMA[0], model.Params.Sigma2, model.LogLikelihood)

	fc, err := model.Forecast(12, 0.05)
	if err != nil {
		log.Fatal(err)
	}
	for _, h := range []int{0, 11} {
		fmt.Printf("month %d: %.0f passengers (95%% interval %.0f to %.0f)\n",
			h+1, math.Exp(fc.Mean[h]), math.Exp(fc.Lower[h]), math.Exp(fc.Upper[h]))
	}
	// Output:
	// ma.L1 -0.4018, ma.S.L12 -0.5569, sigma2 0.001348, log-likelihood 244.696
	// month 1: 450 passengers (95% interval 419 to 484)
	// month 12: 477 passengers (95% interval 407 to 560)
}

// Auto chooses the order of a model for the log airline passengers as R's
// auto.arima does: here the airline model itself.
func ExampleAuto() {
	logs := logAirlinePassengers()
	logs[30] = math.NaN() // a missing month is no obstacle
	model, err := arima.Auto(logs, 12, arima.AutoOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%v, AICc %.1f\n", model.Spec, model.AICc)
	// Output:
	// (0,1,1)(0,1,1)12 trend=n, AICc -464.1
}

// logAirlinePassengers returns the logarithm of the monthly airline
// passengers of Box and Jenkins, 1949-1960.
func logAirlinePassengers() []float64 {
	passengers := []float64{
		112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118,
		115, 126, 141, 135, 125, 149, 170, 170, 158, 133, 114, 140,
		145, 150, 178, 163, 172, 178, 199, 199, 184, 162, 146, 166,
		171, 180, 193, 181, 183, 218, 230, 242, 209, 191, 172, 194,
		196, 196, 236, 235, 229, 243, 264, 272, 237, 211, 180, 201,
		204, 188, 235, 227, 234, 264, 302, 293, 259, 229, 203, 229,
		242, 233, 267, 269, 270, 315, 364, 347, 312, 274, 237, 278,
		284, 277, 317, 313, 318, 374, 413, 405, 355, 306, 271, 306,
		315, 301, 356, 348, 355, 422, 465, 467, 404, 347, 305, 336,
		340, 318, 362, 348, 363, 435, 491, 505, 404, 359, 310, 337,
		360, 342, 406, 396, 420, 472, 548, 559, 463, 407, 362, 405,
		417, 391, 419, 461, 472, 535, 622, 606, 508, 461, 390, 432,
	}
	logs := make([]float64, len(passengers))
	for i, p := range passengers {
		logs[i] = math.Log(p)
	}
	return logs
}
