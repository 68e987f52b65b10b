import { useShallow } from 'zustand/react/shallow';
import { useStudio } from '../store/store';
import { selectNavBadges, selectScreen, selectSetScreen } from '../store/selectors';
import type { ScreenId } from '../store/uiSlice';
import { SCREEN_TITLES, SCREENS } from '../store/uiSlice';

/** The screens, reachable at any time; the current one is marked with aria-current. */
export function NavBar() {
  const screen = useStudio(selectScreen);
  const setScreen = useStudio(selectSetScreen);
  const badges = useStudio(useShallow(selectNavBadges));
  const badge = (id: ScreenId): string => (id === 'model' || id === 'data' || id === 'train' ? badges[id] : '');
  return (
    <nav className="nav" aria-label="Studio screens">
      <ol>
        {SCREENS.map((id, i) => (
          <li key={id}>
            <button
              type="button"
              className="nav-item"
              aria-current={screen === id ? 'page' : undefined}
              data-screen={id}
              onClick={() => setScreen(id)}
            >
              {id !== 'device' && <span className="nav-num">{i + 1}</span>}
              {SCREEN_TITLES[id]}
              {badge(id) && <span className={`nav-badge nav-badge-${badge(id)}`}>{badge(id)}</span>}
            </button>
          </li>
        ))}
      </ol>
    </nav>
  );
}
