/* SPDX-License-Identifier: Apache-2.0 */
#include "helpers.h"
#include "reconcile/show.h"

Test(show, placeholder)
{
}
