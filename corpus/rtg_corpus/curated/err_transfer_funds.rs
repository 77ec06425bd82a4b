//! category: error_handling
//! focal: transfer
#[derive(Debug, PartialEq, Eq)]
pub enum TransferError {
    SameAccount,
    UnknownAccount(usize),
    Insufficient { needed: u64, available: u64 },
}

/// Moves `amount` from account `from` to account `to`; balances are unchanged on error.
pub fn transfer(balances: &mut [u64], from: usize, to: usize, amount: u64) -> Result<(), TransferError> {
    if from == to {
        return Err(TransferError::SameAccount);
    }
    let available = *balances.get(from).ok_or(TransferError::UnknownAccount(from))?;
    if to >= balances.len() {
        return Err(TransferError::UnknownAccount(to));
    }
    if available < amount {
        return Err(TransferError::Insufficient { needed: amount, available });
    }
    balances[from] -= amount;
    balances[to] += amount;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_money() {
        let mut balances = vec![10, 0];
        assert_eq!(transfer(&mut balances, 0, 1, 4), Ok(()));
        assert_eq!(balances, vec![6, 4]);
    }

    #[test]
    fn whole_balance_can_move() {
        let mut balances = vec![5, 5];
        transfer(&mut balances, 1, 0, 5).unwrap();
        assert_eq!(balances, vec![10, 0]);
    }

    #[test]
    fn errors_leave_balances_unchanged() {
        let mut balances = vec![3, 1];
        assert_eq!(transfer(&mut balances, 0, 0, 1), Err(TransferError::SameAccount));
        assert_eq!(transfer(&mut balances, 5, 0, 1), Err(TransferError::UnknownAccount(5)));
        assert_eq!(transfer(&mut balances, 0, 9, 1), Err(TransferError::UnknownAccount(9)));
        assert_eq!(transfer(&mut balances, 1, 0, 2), Err(TransferError::Insufficient { needed: 2, available: 1 }));
        assert_eq!(balances, vec![3, 1]);
    }

    proptest! {
        #[test]
        fn total_is_conserved(a in 0u64..1000, b in 0u64..1000, amount in 0u64..2000) {
            let mut balances = vec![a, b];
            let _ = transfer(&mut balances, 0, 1, amount);
            prop_assert_eq!(balances[0] + balances[1], a + b);
        }
    }
}
