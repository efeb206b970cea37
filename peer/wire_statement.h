/*
 * wire_statement.h - protobuf conversion for key statements (see keys/statement.h).
 */
#ifndef AMESH_WIRE_STATEMENT_H
#define AMESH_WIRE_STATEMENT_H

#include "model.h"

#endif
