package api

func (s *Server) readingRoutes() {}
